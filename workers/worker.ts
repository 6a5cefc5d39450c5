import { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { SsPaths } from '../common/paths';
import { bundleSswWorkflows } from './bundle';
import { realClients } from './clients';
import { refusingWorkerOptions } from './refuse-unencrypted';

export interface SswWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  paths: SsPaths;
  /** A prebuilt bundle (tests, benchmarks); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Extra options for tests (e.g. maxCachedWorkflows: 0 to replay every task). */
  overrides?: Partial<WorkerOptions>;
}

/**
 * The ssw worker: every workflow in workflows/, every activity wired to the
 * real clients, and the management machine's payload encryption.
 */
export async function createSswWorker(opts: SswWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle: opts.workflowBundle ?? (await bundleSswWorkflows()),
    activities: createActivities({
      paths: opts.paths,
      ...realClients(opts.paths),
      visibility: { workflowService: opts.connection.workflowService, namespace: opts.namespace },
    }),
    // Payloads encrypted with this machine's key, and nothing runs that was not (workers/refuse-unencrypted).
    ...refusingWorkerOptions(opts.paths.payloadKey),
    // Activities wait on hosts, not CPU: a handful at once is plenty on a small management machine.
    maxConcurrentActivityTaskExecutions: 20,
    // On Ctrl-C, running activities get this long to finish before they are
    // cancelled (the SDK's default is to cancel at once); a retry resumes them anyway.
    shutdownGraceTime: '30s',
    ...opts.overrides,
  });
}
