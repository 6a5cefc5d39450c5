import { Client, Connection } from '@temporalio/client';
import { encryptedDataConverter } from '../codec/data-converter';
import { UserError } from '../errors';
import { tlsConfig, type TemporalOptions } from './tls';

export { tlsConfig, type TemporalOptions } from './tls';

export function unreachable(opts: TemporalOptions, err: unknown): UserError {
  const raw = (err as Error).message.split('\n')[0];
  // The native (Rust) client nests the OS reason deep in a debug string: keep just that.
  const reason = /message: "([^"]+)"/.exec(raw)?.[1] ?? raw;
  const hint =
    opts.tlsCa || opts.tlsCert
      ? 'Check the address and the TLS options: --tls-ca must be the CA that signed the server certificate, and a server that requires client certificates needs --tls-cert and --tls-key from a CA it trusts.'
      : 'Start the embedded server with "ssw server start" (or "ssw dev"), or point --temporal-address / TEMPORAL_ADDRESS at your cluster.';
  return new UserError(
    `Cannot reach Temporal at ${opts.address}${opts.tlsCa || opts.tlsCert ? ' over TLS' : ''} (${reason}). ${hint}`,
  );
}

export async function connectClient(opts: TemporalOptions, payloadKeyFile: string): Promise<Client> {
  // Outside the try: a bad TLS option is the operator's to fix, not "cannot reach".
  const tls = tlsConfig(opts);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: opts.address, tls, connectTimeout: '5s' });
  } catch (err) {
    throw unreachable(opts, err);
  }
  return new Client({ connection, namespace: opts.namespace, dataConverter: encryptedDataConverter(payloadKeyFile) });
}
