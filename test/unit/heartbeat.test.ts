import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { pollBeating, stallLimitMs, whileBeating, withProgress } from '../../activities/heartbeat';
import { FailureType } from '../../common/failure-types';
import { isFailure } from '../helpers/failures';

// withProgress, the one home of "heartbeat progress, not time": a step heartbeats when it moves,
// is aborted when it stops moving for its stall limit, and a quiet phase lives on probe answers.
// Real timers with short stall limits; nothing here asserts how fast anything is.
const env = (heartbeatTimeoutMs?: number) => new MockActivityEnvironment({ heartbeatTimeoutMs });
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Resolves when `signal` aborts, like a request on a dead connection that only an abort ends. */
const untilAborted = (signal: AbortSignal) =>
  new Promise<never>((_r, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));

describe('withProgress', () => {
  test('the stall limit is three quarters of the heartbeat timeout (half a second at least), a minute without one', () => {
    assert.equal(stallLimitMs(20_000), 15_000);
    assert.equal(stallLimitMs(200), 500);
    assert.equal(stallLimitMs(undefined), 60_000);
  });

  test('a step that stops progressing is aborted and fails its attempt retryably, naming where it was', async () => {
    const beats: unknown[] = [];
    const e = env(400);
    e.on('heartbeat', (d: unknown) => beats.push(d));
    let aborts = 0;
    const run = e.run(() =>
      withProgress(
        'copying x',
        { bytesDone: 0 },
        async (step) => {
          step.progress({ bytesDone: 10 });
          return untilAborted(step.signal);
        },
        { onAbort: (why) => (why === 'stalled' ? aborts++ : undefined) },
      ),
    );
    await assert.rejects(
      run,
      isFailure(FailureType.Stalled, false, /copying x made no progress for 0\.5 s \(last: \{"bytesDone":10\}\)/),
    );
    assert.equal(aborts, 1, 'the step was torn down once');
    assert.deepEqual(beats, [{ bytesDone: 0 }, { bytesDone: 10 }], 'no heartbeat while nothing moved');
  });

  test('a step that keeps progressing runs well past its stall limit', async () => {
    const r = await env(200).run(() =>
      withProgress('moving', 0, async (step) => {
        for (let i = 1; i <= 10; i++) {
          await tick(50);
          step.progress(i);
        }
        return 'done';
      }),
    );
    assert.equal(r, 'done');
  });

  test('a quiet phase lives on the answers of the probe, and stalls once the probe stops answering', async () => {
    let answering = true;
    let asked = 0;
    const probe = async (signal: AbortSignal) => {
      asked++;
      if (!answering) return untilAborted(signal);
    };
    const quiet = await env(200).run(() =>
      withProgress('silent command', {}, (step) => step.whileQuiet(() => tick(600).then(() => 'ok')), { probe }),
    );
    assert.equal(quiet, 'ok');
    assert.ok(asked > 1, 'the probe was asked during the quiet phase');

    const run = env(200).run(() =>
      withProgress(
        'silent command',
        {},
        (step) =>
          step.whileQuiet(async () => {
            await tick(300);
            answering = false; // the connection froze
            return untilAborted(step.signal);
          }),
        { probe },
      ),
    );
    await assert.rejects(run, isFailure(FailureType.Stalled, false, /silent command made no progress/));
  });

  test('outside a quiet phase the probe does not count: a transfer must move bytes', async () => {
    const run = env(200).run(() =>
      withProgress('transfer', {}, (step) => untilAborted(step.signal), { probe: async () => undefined }),
    );
    await assert.rejects(run, isFailure(FailureType.Stalled, false));
  });

  test('a step that ignores its abort still fails its attempt', async () => {
    const run = env(200).run(() => withProgress('stubborn', {}, () => new Promise<never>(() => undefined)));
    await assert.rejects(run, isFailure(FailureType.Stalled, false, /stubborn made no progress/));
  });

  test('cancellation reaches the step through its signal and ends as CancelledFailure', async () => {
    const e = env(10_000);
    const why: string[] = [];
    const run = e.run(() =>
      withProgress('long', {}, (step) => untilAborted(step.signal), { onAbort: (w) => why.push(w) }),
    );
    setImmediate(() => e.cancel());
    await assert.rejects(run, (err: unknown) => err instanceof CancelledFailure);
    assert.deepEqual(why, ['cancelled']);
  });
});

describe('pollBeating and whileBeating', () => {
  test('a poll heartbeats what it waits for after each unanswered check, and returns the answer', async () => {
    const beats: unknown[] = [];
    const e = env();
    e.on('heartbeat', (d: unknown) => beats.push(d));
    let checks = 0;
    const answer = await e.run(() =>
      pollBeating(async () => (++checks === 3 ? 'ready' : undefined), {
        details: () => ({ checks }),
        firstGapMs: 1,
        maxGapMs: 2,
      }),
    );
    assert.equal(answer, 'ready');
    assert.deepEqual(beats, [{ checks: 1 }, { checks: 2 }], 'one beat per unanswered check, none after the answer');
  });

  test('a poll that gives up fails with its own failure; a cancelled one ends as CancelledFailure', async () => {
    const giveUp = async () => Promise.reject(new Error('limit'));
    await assert.rejects(
      env().run(() => pollBeating(giveUp, { details: () => 0, firstGapMs: 1, maxGapMs: 1 })),
      /limit/,
    );
    const e = env();
    const run = e.run(() => pollBeating(async () => undefined, { details: () => 0, firstGapMs: 10, maxGapMs: 10 }));
    setImmediate(() => e.cancel());
    await assert.rejects(run, (err: unknown) => err instanceof CancelledFailure);
  });

  test('the timer heartbeat asks for its details anew at each beat', async () => {
    const beats: unknown[] = [];
    const e = env();
    e.on('heartbeat', (d: unknown) => beats.push(d));
    let waited = 0;
    await e.run(() =>
      whileBeating(
        () => ({ waited }),
        async () => {
          while (beats.length < 3) {
            waited++;
            await tick(5);
          }
        },
        5,
      ),
    );
    assert.equal((beats[0] as { waited: number }).waited, 0);
    assert.ok(
      (beats.at(-1) as { waited: number }).waited > 0,
      `later beats say how far it got: ${JSON.stringify(beats)}`,
    );
  });
});
