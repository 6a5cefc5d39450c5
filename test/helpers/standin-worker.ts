import { after, before } from 'node:test';
import type { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { SswActivities } from '../../activities';
import { SsPaths } from '../../common/paths';
import {
  refuseUnencryptedActivities,
  refuseUnencryptedWorkflowsPath,
  workerDataConverter,
} from '../../workers/refuse-unencrypted';
import { harness } from './harness';
import { encryptedClient, tempSsRoot, uniqueTaskQueue } from './temporal';

/**
 * A test file's payload key and encrypting client on the harness server,
 * opened before its tests and closed after them: the setup every
 * branching test of a workflow shares.
 */
export function standInSuite(name: string): { key: string; client: () => Client } {
  const key = new SsPaths(tempSsRoot(`ssw-${name}-`)).payloadKey;
  let client: Client | undefined;
  before(async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    client = await encryptedClient(key);
  });
  after(async () => {
    await client?.connection.close();
  });
  return { key, client: () => client! };
}

/**
 * Runs `fn` while a worker with ssw's real workflows and the given stand-in
 * activities polls a task queue of its own on the harness server: for tests
 * of a workflow's branching (the real activities have tests of their own).
 * Stand-ins are typed against the real activities, so a renamed or re-typed
 * activity breaks the test build instead of the test's run.
 */
export async function withStandInWorker<T>(
  payloadKey: string,
  activities: Partial<SswActivities>,
  name: string,
  fn: (taskQueue: string) => Promise<T>,
): Promise<T> {
  const taskQueue = uniqueTaskQueue(name);
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: harness().temporal.address }),
    namespace: harness().temporal.namespace,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    dataConverter: workerDataConverter(payloadKey),
    interceptors: { workflowModules: [refuseUnencryptedWorkflowsPath], activity: [refuseUnencryptedActivities] },
    activities,
  });
  return worker.runUntil(() => fn(taskQueue));
}
