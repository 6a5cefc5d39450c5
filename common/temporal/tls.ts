import type { TLSConfig } from '@temporalio/client';
import { UserError } from '../errors';
import { NotARegularFile, readRegularFile } from '../regular-file';

// Apart from connection.ts so the CLI can check TLS options before it loads the SDK (types only here).

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
    throw new UserError(
      '--tls-cert and --tls-key go together: give both, or neither for server-only TLS with --tls-ca.',
    );
  }
  const read = (flag: string, file: string) => {
    try {
      // A regular file, size-bounded: /dev/zero or a FIFO here must not hang or fill memory.
      return readRegularFile(file, 1024 * 1024).data;
    } catch (err) {
      if (err instanceof NotARegularFile)
        throw new UserError(`${flag} ${file}: expected a PEM file, but it is ${err.found}.`);
      throw new UserError(`${flag} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? err}).`);
    }
  };
  return {
    clientCertPair:
      opts.tlsCert && opts.tlsKey
        ? { crt: read('--tls-cert', opts.tlsCert), key: read('--tls-key', opts.tlsKey) }
        : undefined,
    serverRootCACertificate: opts.tlsCa ? read('--tls-ca', opts.tlsCa) : undefined,
    serverNameOverride: opts.tlsServerName,
  };
}
