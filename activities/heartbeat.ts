import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { FailureType } from '../common/failure-types';

/**
 * Heartbeats for long steps. The one rule (STYLE.md): heartbeat *progress*,
 * from the work itself, never from a timer that keeps beating while the work
 * is dead. {@link withProgress} is the home of that rule, and {@link pollBeating}
 * its form for a poll; {@link whileBeating} is the old timer kept only for steps
 * that are not SSH work yet (LXD and Docker REST calls), so it is not to be used
 * for anything new.
 */

/** What a step running under {@link withProgress} reports through and listens to. */
export interface StepProgress {
  /** Aborted when the activity is cancelled or the step stalls: pass it to every command, transfer and request. */
  readonly signal: AbortSignal;
  /** The work moved (bytes, output, a finished change): heartbeat, and restart the stall clock. */
  progress(details?: unknown): void;
  /**
   * Runs a phase that may legitimately make no visible progress for a while
   * (a silent command, a checksum on the host). While it runs, the step's
   * liveness probe is asked regularly and each answer counts as progress; a
   * step without a probe simply has to progress within the stall limit.
   */
  whileQuiet<T>(fn: () => Promise<T>): Promise<T>;
}

export interface ProgressOptions {
  /**
   * How long the step may go without progress before it is aborted and its
   * attempt fails (retryably: the retry resumes from what the step left,
   * e.g. a partial file). Declared where the activity's options are, as its
   * heartbeat timeout: the default is three quarters of it, so the worker
   * notices a stall and says so before the server times the attempt out.
   * @default 0.75 × heartbeatTimeout, or 60 s for an activity without one
   */
  stallMs?: number;
  /**
   * Proof of life during quiet phases: resolves when what the step waits on still answers (e.g. one round trip over the
   * SSH connection).
   */
  probe?: (signal: AbortSignal) => Promise<unknown>;
  /**
   * Called once when the step is aborted (stall or cancellation), e.g. to tear down the connection so pending requests
   * fail at once.
   */
  onAbort?: (why: 'stalled' | 'cancelled') => void;
}

/** The stall limit for an activity whose heartbeat timeout is `heartbeatTimeoutMs`. */
export function stallLimitMs(heartbeatTimeoutMs: number | undefined): number {
  return heartbeatTimeoutMs ? Math.max(500, Math.floor(heartbeatTimeoutMs * 0.75)) : 60_000;
}

/**
 * After an abort, how long the step has to wind down before the attempt fails without it (a step that ignores its
 * signal must not hold the attempt).
 */
const ABANDON_AFTER_MS = 5_000;

/**
 * Runs a long step that heartbeats only when it progresses, and aborts it
 * when it makes no progress for the stall limit: the attempt then fails with
 * a retryable failure that says so, instead of hanging until the activity's
 * start-to-close timeout. Cancellation reaches the step through the same
 * signal and ends as CancelledFailure.
 */
export async function withProgress<T>(
  what: string,
  initial: unknown,
  fn: (step: StepProgress) => Promise<T>,
  opts: ProgressOptions = {},
): Promise<T> {
  const ctx = Context.current();
  const stallMs = opts.stallMs ?? stallLimitMs(ctx.info.heartbeatTimeoutMs);
  const controller = new AbortController();
  let details = initial;
  let stalled: ApplicationFailure | undefined;
  let quiet = 0;
  let probeTimer: NodeJS.Timeout | undefined;
  let probing = false;
  let finished = false; // after it, nothing may beat or re-arm the watchdog (a late probe answer, a stray callback)

  const abort = (reason: unknown, why: 'stalled' | 'cancelled'): void => {
    if (controller.signal.aborted) return;
    controller.abort(reason);
    clearTimeout(watchdog);
    clearTimeout(probeTimer);
    try {
      opts.onAbort?.(why);
    } catch {
      // Tearing down is best effort; the step fails either way.
    }
  };
  const watchdog = setTimeout(() => {
    stalled = ApplicationFailure.create({
      message: `${what} made no progress for ${Math.round(stallMs / 100) / 10} s (last: ${JSON.stringify(details)}); the attempt was abandoned so a retry can resume`,
      type: FailureType.Stalled,
      details: [details],
    });
    abort(stalled, 'stalled');
  }, stallMs);
  const onCancel = (): void => abort(ctx.cancellationSignal.reason, 'cancelled');
  ctx.cancellationSignal.addEventListener('abort', onCancel, { once: true });
  if (ctx.cancellationSignal.aborted) onCancel();

  const progress = (d?: unknown): void => {
    if (d !== undefined) details = d;
    if (finished || controller.signal.aborted) return;
    watchdog.refresh();
    ctx.heartbeat(details);
  };
  // The probe is asked a few times per stall limit, one question at a time: a probe that hangs
  // (a frozen connection) asks no more and the step stalls, which is the point.
  const probeEveryMs = Math.max(100, Math.floor(stallMs / 4));
  const scheduleProbe = (): void => {
    if (!opts.probe || quiet === 0 || probing || probeTimer || finished || controller.signal.aborted) return;
    probeTimer = setTimeout(() => {
      probeTimer = undefined;
      probing = true;
      opts.probe!(controller.signal).then(
        () => {
          probing = false;
          if (quiet > 0) progress();
          scheduleProbe();
        },
        () => {
          probing = false;
          scheduleProbe();
        },
      );
    }, probeEveryMs);
  };
  const step: StepProgress = {
    signal: controller.signal,
    progress,
    async whileQuiet(inner) {
      quiet++;
      scheduleProbe();
      try {
        return await inner();
      } finally {
        quiet--;
        if (quiet === 0) {
          clearTimeout(probeTimer);
          probeTimer = undefined;
        }
      }
    },
  };

  let abandonTimer: NodeJS.Timeout | undefined;
  const abandoned = new Promise<never>((_resolve, reject) => {
    controller.signal.addEventListener('abort', () => {
      abandonTimer = setTimeout(
        () => reject(new Error(`${what} did not stop within ${ABANDON_AFTER_MS} ms of being aborted`)),
        ABANDON_AFTER_MS,
      );
    });
  });
  abandoned.catch(() => undefined);

  ctx.heartbeat(details);
  try {
    return await Promise.race([fn(step), abandoned]);
  } catch (err) {
    const cause = err instanceof Error ? err : undefined;
    if (ctx.cancellationSignal.aborted)
      throw new CancelledFailure(`${ctx.info.activityType} was cancelled`, undefined, cause);
    if (stalled)
      throw ApplicationFailure.create({
        message: stalled.message,
        type: stalled.type ?? undefined,
        details: [details],
        cause,
      });
    throw err;
  } finally {
    finished = true;
    clearTimeout(watchdog);
    clearTimeout(probeTimer);
    clearTimeout(abandonTimer);
    ctx.cancellationSignal.removeEventListener('abort', onCancel);
  }
}

/**
 * The old timer heartbeat: beats `details()` (asked anew at each beat, so it
 * can say how far a wait got) every few seconds whatever the step does.
 * Only for steps that are not SSH work (LXD and Docker REST calls) until
 * they report progress too; SSH steps use {@link withProgress} through
 * `sshStep`. A cancelled step ends as CancelledFailure.
 */
export async function whileBeating<T>(
  details: () => unknown,
  fn: (signal: AbortSignal) => Promise<T>,
  everyMs = 3_000,
): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(details()), everyMs);
  ctx.heartbeat(details());
  try {
    return await fn(ctx.cancellationSignal);
  } catch (err) {
    if (ctx.cancellationSignal.aborted)
      throw new CancelledFailure(
        `${ctx.info.activityType} was cancelled`,
        undefined,
        err instanceof Error ? err : undefined,
      );
    throw err;
  } finally {
    clearInterval(timer);
  }
}

export interface PollOptions {
  /** What each heartbeat says, asked after each unanswered check (e.g. who is still waited for). */
  details: () => unknown;
  /** The first gap between checks; it doubles up to {@link PollOptions.maxGapMs}. */
  firstGapMs: number;
  maxGapMs: number;
}

/**
 * An activity's poll of a real condition: `check` until it returns a value
 * (it throws to give up, e.g. at its own deadline), with a doubling,
 * cancellable gap between checks. Each answered check is progress and
 * heartbeats `details()`; a check that hangs beats no more, so the server
 * notices, as {@link withProgress}'s rule wants.
 */
export async function pollBeating<T>(check: () => Promise<T | undefined>, o: PollOptions): Promise<T> {
  const ctx = Context.current();
  for (let gapMs = o.firstGapMs; ; gapMs = Math.min(gapMs * 2, o.maxGapMs)) {
    const answer = await check();
    if (answer !== undefined) return answer;
    ctx.heartbeat(o.details());
    await ctx.sleep(gapMs); // cancellable: a cancelled poll ends here
  }
}
