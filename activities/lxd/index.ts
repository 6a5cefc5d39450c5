/**
 * The LXD/Incus REST API client and the management machine's client
 * certificate. Activities get an LxdClient per call from an injected
 * {@link LxdConnector}, for the remote's recorded endpoint and pinned server
 * certificate.
 */
export {
  CLIENT_CERT_FILE,
  CLIENT_KEY_FILE,
  certFingerprint,
  loadOrCreateClientCert,
  selfSignedClientCert,
} from './client-cert';
export type { ClientCert, ClientCertOptions } from './client-cert';
export { LxdClient, parseTrustToken, usesTrustTokenField } from './client';
export { lxdConnector } from './connector';
export type { LxdConnector } from './connector';
export type { CallOptions, LxdClientOptions, MutateOptions, WaitOptions } from './client';
export { lxdStatusOf } from './failures';
export type { LxdFailureDetails } from './failures';
export { LxdTransport, normalizeFingerprint } from './transport';
export type {
  LxdEndpoint,
  LxdEnvelope,
  LxdStreamEndpoint,
  LxdHttpResponse,
  LxdTransportOptions,
  SendOptions,
} from './transport';
export type * from './types';
