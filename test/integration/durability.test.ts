import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { AesGcmPayloadCodec } from '../../common/codec/aes-gcm-codec';
import { loadOrCreateKeyring } from '../../common/codec/keyring';
import { SsPaths } from '../../common/paths';
import {
  ChildWorker,
  encryptedClient,
  spawnFixtureWorker,
  tempSsRoot,
  uniqueTaskQueue,
  waitFor,
} from '../helpers/temporal';

const EventType = temporal.api.enums.v1.EventType;

interface SideEffect {
  event: 'step' | 'resume' | 'chunk';
  name?: string;
  index?: number;
  from?: number;
  pid: number;
  attempt: number;
}

const readEffects = (file: string): SideEffect[] =>
  fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as SideEffect)
    : [];

const workers: ChildWorker[] = [];
let client: Client | undefined;
after(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await client?.connection.close();
});

test('a workflow survives SIGKILL of its worker mid-activity and resumes from the last heartbeat', async () => {
  const root = tempSsRoot();
  const paths = new SsPaths(root);
  const effects = path.join(root, 'effects.jsonl');
  const taskQueue = uniqueTaskQueue('durability');
  const CHUNKS = 30;
  client = await encryptedClient(paths.payloadKey);

  const first = await spawnFixtureWorker(taskQueue, paths.payloadKey);
  workers.push(first);
  const handle = await client.workflow.start('durableSteps', {
    taskQueue,
    workflowId: `test-durability-${path.basename(root)}`,
    args: [effects, CHUNKS, 150],
    workflowTaskTimeout: '2s', // a dead worker's workflow task is retried elsewhere after 2 s
  });

  // Kill the worker once the long step is well under way and has heartbeated.
  await waitFor('chunk 8 to be processed', () =>
    readEffects(effects).some((e) => e.event === 'chunk' && e.index === 8),
  );
  first.child.kill('SIGKILL');
  await first.exited;
  const killedAt = readEffects(effects).filter((e) => e.event === 'chunk').length;

  // What the server holds as the interrupted activity's last heartbeat: the retry must get exactly this.
  const pending = (await handle.describe()).raw.pendingActivities ?? [];
  assert.equal(pending.length, 1);
  assert.equal(pending[0].activityType?.name, 'processChunks');
  const codec = new AesGcmPayloadCodec(loadOrCreateKeyring(paths.payloadKey));
  const [detail] = await codec.decode(pending[0].heartbeatDetails!.payloads!);
  const lastHeartbeat = defaultPayloadConverter.fromPayload<number>(detail);

  const second = await spawnFixtureWorker(taskQueue, paths.payloadKey);
  workers.push(second);
  const result = await handle.result();
  assert.deepEqual(result, ['one', 'two', 'chunks', 'four']);
  second.child.kill('SIGTERM');

  const all = readEffects(effects);
  // Finished steps ran exactly once, each by the process alive at the time.
  const steps = all.filter((e) => e.event === 'step');
  assert.deepEqual(
    steps.map((e) => e.name),
    ['one', 'two', 'four'],
  );
  assert.ok(steps.slice(0, 2).every((e) => e.pid === first.child.pid));
  assert.equal(steps[2].pid, second.child.pid);

  // The interrupted step resumed where its last heartbeat said, not from zero.
  const resumes = all.filter((e) => e.event === 'resume');
  assert.equal(resumes.length, 2);
  assert.equal(resumes[0].from, 0);
  const resumedFrom = resumes[1].from!;
  assert.ok(resumedFrom > 0, `resumed from ${resumedFrom}, expected > 0`);
  assert.equal(resumedFrom, lastHeartbeat, 'resumed from the heartbeat the server recorded');
  assert.ok(resumedFrom <= killedAt, `resumed from ${resumedFrom}, but only ${killedAt} chunks had run`);
  assert.equal(resumes[1].pid, second.child.pid);
  assert.equal(resumes[1].attempt, 2);
  // Every chunk ran at least once; only those between the last heartbeat and the kill ran twice.
  const chunkRuns = new Map<number, number>();
  for (const e of all.filter((x) => x.event === 'chunk')) chunkRuns.set(e.index!, (chunkRuns.get(e.index!) ?? 0) + 1);
  for (let i = 0; i < CHUNKS; i++) assert.ok(chunkRuns.get(i)! >= 1, `chunk ${i} never ran`);
  for (let i = 0; i < resumedFrom; i++) assert.equal(chunkRuns.get(i), 1, `chunk ${i} before the heartbeat ran twice`);

  // The history agrees: four activities scheduled and completed once each; the long one on attempt 2.
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  const completed = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
  assert.equal(scheduled.length, 4);
  assert.equal(completed.length, 4);
  const chunkSchedule = scheduled.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'processChunks',
  )!;
  const chunkStart = events.find(
    (e) =>
      e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED &&
      Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === Number(chunkSchedule.eventId),
  )!;
  assert.equal(chunkStart.activityTaskStartedEventAttributes?.attempt, 2);
});
