import { checkedTemporalOptions, pathsOf } from '../context';
import { defineCommand, type Command } from '../define-command';
import type { CliIO } from '../io';
import { waitForShutdownSignal } from '../services/signals';
import { validPort } from '../cert-target';
import { checkCodecArgs, codecOptions, startCodecFromArgs } from './codec-server';
import { serverOptions, startServerFromArgs } from './server';

/**
 * Everything on one machine in the foreground: codec endpoint, embedded
 * Temporal (its UI decoding through the codec), and a worker. Ctrl-C stops
 * them in reverse order: worker first (so no activity is cut), then server.
 */
export function devCommand(io: CliIO): Command {
  return defineCommand({
    command: 'dev',
    describe: 'Run the embedded Temporal server, the codec server and a worker until Ctrl-C',
    builder: (y) => y.options({ ...serverOptions, ...codecOptions }),
    handler: async (args) => {
      // Every flag checked before the first service starts (or the first key is written).
      const temporal = checkedTemporalOptions(args);
      pathsOf(args);
      checkCodecArgs(args);
      validPort('port', args.port);
      validPort('ui-port', args['ui-port']);
      const { startWorker } = await import('../services/worker-service');
      const signal = waitForShutdownSignal();
      // Whatever was started is stopped, newest first, however this ends.
      const started: { name: string; stop: () => Promise<unknown> }[] = [];
      try {
        const codec = await startCodecFromArgs(args, io);
        started.push({ name: 'codec server', stop: () => new Promise((r) => codec.server.close(r)) });
        const server = await startServerFromArgs({ ...args }, io, codec.url);
        started.push({ name: 'Temporal server', stop: () => server.stop() });
        const worker = await startWorker({ ...temporal, address: server.address }, args['task-queue'], pathsOf(args));
        started.push({ name: 'worker', stop: () => worker.stop() });
        io.out(`Worker polling task queue "${args['task-queue']}". Press Ctrl-C to stop everything.`);
        const why = await Promise.race([
          signal.then(() => 'signal' as const),
          worker.done.then(
            () => 'worker' as const,
            (err: Error) => {
              io.err(`The worker failed: ${err.message}`);
              return 'worker' as const;
            },
          ),
          server.exited.then(() => 'server' as const),
        ]);
        if (why === 'server') io.err('The Temporal server exited on its own; stopping.');
        if (why !== 'signal') io.exitCode = 1;
      } finally {
        for (const s of started.reverse()) {
          await s.stop().catch((err: Error) => io.err(`Stopping the ${s.name} failed: ${err.message}`));
        }
      }
      io.out('Stopped worker, Temporal server and codec server.');
    },
  });
}
