import type { SsPaths } from '../../common/paths';
import { loadOrCreateClientCert, type ClientCert } from './client-cert';
import { LxdClient } from './client';
import type { LxdStreamEndpoint } from './transport';

/**
 * How activities reach LXD/Incus APIs: per remote, a new client per call
 * (closed by the caller). Injected into the activity factories; the worker
 * wires {@link lxdConnector}.
 */
export interface LxdConnector {
  /** A remote's API over HTTPS: this machine's client certificate, the remote's pinned server certificate. */
  remote(api: { endpoint: string; serverCertPem: string; requestTimeoutMs?: number }): Promise<LxdClient>;
  /** An API on a byte stream per request: the host's unix socket forwarded over SSH, before HTTPS is trusted. */
  stream(endpoint: LxdStreamEndpoint): LxdClient;
  /** This management machine's client certificate (created on first use). */
  clientCert(): Promise<ClientCert>;
}

/** The real connector, with the client certificate kept under `paths`. */
export function lxdConnector(paths: SsPaths): LxdConnector {
  const clientCert = () => loadOrCreateClientCert(paths);
  return {
    remote: async (api) =>
      new LxdClient({
        endpoint: api.endpoint,
        clientCert: await clientCert(),
        serverCertPem: api.serverCertPem,
        ...(api.requestTimeoutMs !== undefined ? { requestTimeoutMs: api.requestTimeoutMs } : {}),
      }),
    stream: (endpoint) => new LxdClient({ endpoint }),
    clientCert,
  };
}
