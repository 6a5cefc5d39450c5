import { checkedTemporalOptions, pathsOf } from '../context';
import { defineCommand, type Command } from '../define-command';
import type { CliIO } from '../io';
import { waitForShutdownSignal } from '../services/signals';

export function workerCommand(io: CliIO): Command {
  return defineCommand({
    command: 'worker',
    describe: 'Run the ssw worker: executes workflows and their activities on your hosts',
    handler: async (args) => {
      const temporal = checkedTemporalOptions(args);
      const paths = pathsOf(args);
      const { startWorker } = await import('../services/worker-service');
      const signal = waitForShutdownSignal();
      const worker = await startWorker(temporal, args['task-queue'], paths);
      io.out(
        `Worker polling task queue "${args['task-queue']}" on ${args['temporal-address']} (namespace ${args.namespace}).`,
      );
      const why = await Promise.race([signal, worker.done.then(() => 'done' as const)]);
      if (why !== 'done') io.out('Stopping the worker (running activities get 30 s to finish)...');
      await worker.stop();
      io.out('Worker stopped.');
    },
  });
}
