import * as fs from 'node:fs';
import { Client, Connection, TLSConfig } from '@temporalio/client';
import { encryptedDataConverter } from '../codec/data-converter';
import { UserError } from '../errors';

/** How to reach Temporal: the embedded dev server by default, or any cluster by address and TLS. */
export interface TemporalOptions {
  address: string;
  namespace: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsServerName?: string;
}

export function tlsConfig(opts: TemporalOptions): TLSConfig | undefined {
  if (!opts.tlsCert && !opts.tlsKey && !opts.tlsCa) return undefined;
  if (!!opts.tlsCert !== !!opts.tlsKey) {
    throw new UserError('--tls-cert and --tls-key go together: give both, or neither for server-only TLS with --tls-ca.');
  }
  const read = (flag: string, file: string) => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new UserError(`${flag} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err}).`);
    }
  };
  return {
    clientCertPair:
      opts.tlsCert && opts.tlsKey ? { crt: read('--tls-cert', opts.tlsCert), key: read('--tls-key', opts.tlsKey) } : undefined,
    serverRootCACertificate: opts.tlsCa ? read('--tls-ca', opts.tlsCa) : undefined,
    serverNameOverride: opts.tlsServerName,
  };
}

export function unreachable(opts: TemporalOptions, err: unknown): UserError {
  const raw = (err as Error).message.split('\n')[0];
  // The native (Rust) client nests the OS reason deep in a debug string: keep just that.
  const reason = /message: "([^"]+)"/.exec(raw)?.[1] ?? raw;
  const hint = opts.tlsCa || opts.tlsCert
    ? 'Check the address and the TLS options: --tls-ca must be the CA that signed the server certificate, and a server that requires client certificates needs --tls-cert and --tls-key from a CA it trusts.'
    : 'Start the embedded server with "ssw server start" (or "ssw dev"), or point --temporal-address / TEMPORAL_ADDRESS at your cluster.';
  return new UserError(`Cannot reach Temporal at ${opts.address}${opts.tlsCa || opts.tlsCert ? ' over TLS' : ''} (${reason}). ${hint}`);
}

export async function connectClient(opts: TemporalOptions, payloadKeyFile: string): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: opts.address, tls: tlsConfig(opts), connectTimeout: '5s' });
  } catch (err) {
    throw unreachable(opts, err);
  }
  return new Client({ connection, namespace: opts.namespace, dataConverter: encryptedDataConverter(payloadKeyFile) });
}
