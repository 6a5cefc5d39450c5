import { NativeConnection, Runtime } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import type { SsPaths } from '../../common/paths';
import { TemporalOptions, tlsConfig, unreachable } from '../../common/temporal/connection';
import { createSswWorker } from '../../workers/worker';

let runtimeInstalled = false;

/**
 * ssw handles signals itself (so `ssw dev` can stop worker, server and codec
 * in order); the SDK runtime must therefore not install its own handlers.
 */
export function installRuntimeOnce(): void {
  if (runtimeInstalled) return;
  Runtime.install({ shutdownSignals: [] });
  runtimeInstalled = true;
}

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has drained and stopped. */
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function startWorker(
  temporal: TemporalOptions,
  taskQueue: string,
  paths: SsPaths,
): Promise<RunningWorker> {
  installRuntimeOnce();
  const connection = await connectWorkerConnection(temporal);
  const worker = await createSswWorker({ connection, namespace: temporal.namespace, taskQueue, paths });
  const done = worker.run().finally(() => connection.close());
  return {
    worker,
    done,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

async function connectWorkerConnection(opts: TemporalOptions): Promise<NativeConnection> {
  // Outside the try: a bad TLS option is the operator's to fix, not "cannot reach".
  const tls = tlsConfig(opts);
  try {
    return await NativeConnection.connect({ address: opts.address, tls });
  } catch (err) {
    throw unreachable(opts, err);
  }
}
