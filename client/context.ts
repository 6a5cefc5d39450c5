import * as path from 'node:path';
import type { Client } from '@temporalio/client';
import { validateName } from '../common/config/validators';
import { UserError } from '../common/errors';
import { currentRemote } from '../common/remotes';
import { defaultSsRoot, SsPaths } from '../common/paths';
import { tlsConfig, type TemporalOptions } from '../common/temporal/tls';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE, DEFAULT_TEMPORAL_ADDRESS } from '../common/temporal/defaults';

/** The options every command accepts (globalOptions below; their types reach each handler through its builder). */
export interface GlobalArgs {
  'ss-root': string;
  'temporal-address': string;
  namespace: string;
  'task-queue': string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'tls-ca'?: string;
  'tls-server-name'?: string;
  json: boolean;
  verbose: boolean;
}

export const globalOptions = {
  'ss-root': {
    type: 'string',
    describe: 'Management directory (config, keys, backups)',
    default: defaultSsRoot(),
    defaultDescription: '$SS_ROOT or ~/ss',
  },
  'temporal-address': {
    type: 'string',
    describe: 'Temporal frontend host:port',
    default: process.env.TEMPORAL_ADDRESS || DEFAULT_TEMPORAL_ADDRESS,
    defaultDescription: '$TEMPORAL_ADDRESS or 127.0.0.1:7233',
  },
  namespace: {
    type: 'string',
    describe: 'Temporal namespace',
    default: process.env.TEMPORAL_NAMESPACE || DEFAULT_NAMESPACE,
    defaultDescription: '$TEMPORAL_NAMESPACE or default',
  },
  'task-queue': {
    type: 'string',
    describe: 'Task queue the worker polls',
    default: process.env.SSW_TASK_QUEUE || DEFAULT_TASK_QUEUE,
    defaultDescription: '$SSW_TASK_QUEUE or ss',
  },
  'tls-cert': {
    type: 'string',
    describe: 'Client certificate (PEM) for a remote Temporal with mTLS',
    default: process.env.TEMPORAL_TLS_CERT,
  },
  'tls-key': {
    type: 'string',
    describe: 'Client private key (PEM) for --tls-cert',
    default: process.env.TEMPORAL_TLS_KEY,
  },
  'tls-ca': {
    type: 'string',
    describe: 'CA certificate (PEM) that signed the server certificate',
    default: process.env.TEMPORAL_TLS_CA,
  },
  'tls-server-name': { type: 'string', describe: 'Server name to verify when it differs from the address host' },
  json: { type: 'boolean', describe: 'Machine-readable output', default: false },
  verbose: { type: 'boolean', describe: 'Show stack traces and details on errors', default: false },
} as const;

/** The remote a command acts on: --remote, else the current one (`ssw remote switch`); validated. */
export function remoteOf(args: GlobalArgs & { remote?: string }): string {
  const remote = args.remote ?? currentRemote(pathsOf(args));
  if (!remote) {
    throw new UserError(
      'No remote given and no current remote: pass --remote NAME, or set one with "ssw remote switch NAME".',
    );
  }
  validateName('remote', remote);
  return remote;
}

/** $SS_ROOT from --ss-root: an empty value would put config stubs and keys in the current directory. */
export function pathsOf(args: GlobalArgs): SsPaths {
  const root = String(args['ss-root'] ?? '');
  if (root.trim() === '') {
    throw new UserError(
      '--ss-root must name a directory (ssw keeps config, keys and backups there), got an empty value. Leave it out for $SS_ROOT or ~/ss.',
    );
  }
  return new SsPaths(path.resolve(root));
}

/**
 * The Temporal options, checked before anything starts (a payload key, a
 * codec server, a Temporal server): a TLS mistake is a usage error of its own.
 */
export function checkedTemporalOptions(args: GlobalArgs): TemporalOptions {
  const opts = temporalOptionsOf(args);
  tlsConfig(opts);
  return opts;
}

export function temporalOptionsOf(args: GlobalArgs): TemporalOptions {
  return {
    address: args['temporal-address'],
    namespace: args.namespace,
    tlsCert: args['tls-cert'],
    tlsKey: args['tls-key'],
    tlsCa: args['tls-ca'],
    tlsServerName: args['tls-server-name'],
  };
}

/** Opens a client for one command and always closes it. */
export async function withClient<T>(args: GlobalArgs, fn: (client: Client) => Promise<T>): Promise<T> {
  // Loaded on demand: the SDK's client is not needed for --help or config commands.
  const { connectClient } = await import('../common/temporal/connection');
  const client = await connectClient(temporalOptionsOf(args), pathsOf(args).payloadKey);
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}
