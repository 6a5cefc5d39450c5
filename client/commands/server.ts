import type { GlobalArgs } from '../context';
import { pathsOf } from '../context';
import { defineCommand, defineGroup, type Command } from '../define-command';
import type { CliIO } from '../io';
import { waitForShutdownSignal } from '../services/signals';
import { findTemporalBinary } from '../services/temporal-binary';

export interface ServerArgs {
  'temporal-bin'?: string;
  port: number;
  'ui-port': number;
  'codec-endpoint'?: string;
  headless: boolean;
}

export const serverOptions = {
  'temporal-bin': {
    type: 'string',
    describe: 'Path of the temporal CLI binary',
    defaultDescription: '$TEMPORAL_CLI, then PATH',
  },
  port: { type: 'number', describe: 'Frontend port on 127.0.0.1', default: 7233 },
  'ui-port': { type: 'number', describe: 'Web UI port on 127.0.0.1', default: 8233 },
  'codec-endpoint': {
    type: 'string',
    describe: 'Codec endpoint the Web UI decodes payloads with',
    default: 'http://127.0.0.1:8888',
  },
  headless: { type: 'boolean', describe: 'No Web UI', default: false },
} as const;

/** Starts the embedded server for `server start` and `dev`. */
export async function startServerFromArgs(args: GlobalArgs & ServerArgs, io: CliIO, codecEndpoint?: string) {
  const paths = pathsOf(args);
  const { startEmbeddedServer } = await import('../services/embedded-server');
  const binary = findTemporalBinary(args['temporal-bin']);
  const server = await startEmbeddedServer({
    binary,
    dbFile: paths.temporalDb,
    logFile: `${paths.temporalDir}/server.log`,
    namespace: args.namespace,
    port: args.port,
    uiPort: args['ui-port'],
    headless: args.headless,
    codecEndpoint: codecEndpoint ?? args['codec-endpoint'],
  });
  const webUi = args.headless ? null : `http://127.0.0.1:${args['ui-port']}`;
  // Other commands (a --detach link) learn the UI's port from this record.
  const { writeServerRecord } = await import('../services/server-record');
  writeServerRecord(paths, { address: server.address, webUi });
  io.out(`Temporal server ready on ${server.address} (namespace ${args.namespace}, data ${paths.temporalDb}).`);
  if (webUi) io.out(`Web UI: ${webUi}/namespaces/${args.namespace}/workflows`);
  return server;
}

export function serverCommand(io: CliIO): Command {
  return defineGroup({
    name: 'server',
    describe: 'Run the embedded Temporal server (SQLite under $SS_ROOT/temporal)',
    subcommands: [
      defineCommand({
        command: 'start',
        describe: 'Run it in the foreground until Ctrl-C',
        builder: (y) => y.options(serverOptions),
        handler: async (args) => {
          const signal = waitForShutdownSignal(); // listening already, so a Ctrl-C during start-up is not lost
          const server = await startServerFromArgs(args, io);
          const stopped = await Promise.race([signal, server.exited.then(() => 'exit' as const)]);
          if (stopped === 'exit') {
            io.err(`The Temporal server exited on its own; see ${pathsOf(args).temporalDir}/server.log`);
            io.exitCode = 1;
            return;
          }
          await server.stop();
          io.out('Temporal server stopped.');
        },
      }),
    ],
  });
}
