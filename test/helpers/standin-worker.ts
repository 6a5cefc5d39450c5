import { NativeConnection, Worker } from '@temporalio/worker';
import { encryptedDataConverter } from '../../common/codec/data-converter';
import { harness } from './harness';
import { uniqueTaskQueue } from './temporal';

/**
 * Runs `fn` while a worker with ssw's real workflows and the given stand-in
 * activities polls a task queue of its own on the harness server: for tests
 * of a workflow's branching (the real activities have tests of their own).
 */
export async function withStandInWorker<T>(payloadKey: string, activities: object, name: string, fn: (taskQueue: string) => Promise<T>): Promise<T> {
  const taskQueue = uniqueTaskQueue(name);
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: harness().temporal.address }),
    namespace: harness().temporal.namespace,
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    dataConverter: encryptedDataConverter(payloadKey),
    activities,
  });
  return worker.runUntil(() => fn(taskQueue));
}
