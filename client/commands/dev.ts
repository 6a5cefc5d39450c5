import type { CommandModule } from 'yargs';
import { GlobalArgs, pathsOf, temporalOptionsOf } from '../context';
import type { CliIO } from '../io';
import { waitForShutdownSignal } from '../services/signals';
import { CodecArgs, codecOptions, startCodecFromArgs } from './codec-server';
import { ServerArgs, serverOptions, startServerFromArgs } from './server';

/**
 * Everything on one machine in the foreground: codec endpoint, embedded
 * Temporal (its UI decoding through the codec), and a worker. Ctrl-C stops
 * them in reverse order: worker first (so no activity is cut), then server.
 */
export function devCommand(io: CliIO): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: 'dev',
    describe: 'Run the embedded Temporal server, the codec server and a worker until Ctrl-C',
    builder: (y) => y.options({ ...serverOptions, ...codecOptions }),
    handler: async (argv) => {
      const args = argv as unknown as GlobalArgs & ServerArgs & CodecArgs;
      const { startWorker } = await import('../services/worker-service');
      const signal = waitForShutdownSignal();
      const codec = await startCodecFromArgs(args, io);
      const closeCodec = () => new Promise((r) => codec.server.close(r));
      let server;
      try {
        server = await startServerFromArgs({ ...args }, io, codec.url);
      } catch (err) {
        await closeCodec();
        throw err;
      }
      const temporal = { ...temporalOptionsOf(args), address: server.address };
      let worker;
      try {
        worker = await startWorker(temporal, args['task-queue'], pathsOf(args));
      } catch (err) {
        await server.stop();
        await closeCodec();
        throw err;
      }
      io.out(`Worker polling task queue "${args['task-queue']}". Press Ctrl-C to stop everything.`);
      const why = await Promise.race([signal, worker.done.then(() => 'worker'), server.exited.then(() => 'server')]);
      if (why === 'server') io.err('The Temporal server exited on its own; stopping.');
      await worker.stop();
      await server.stop();
      await closeCodec();
      io.out('Stopped worker, Temporal server and codec server.');
      if (why === 'server') io.exitCode = 1;
    },
  };
}
