import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/failure-types';
import { NETWORK_ERROR_WORDS } from '../../common/network-errors';

/**
 * Every way an LXD/Incus API call fails, as a Temporal failure that says what
 * happened, where, and whether retrying can help: a refused request (4xx) or
 * an untrusted certificate needs the operator; a server error (5xx) or a
 * network fault may pass. Messages carry endpoints, paths, LXD's own error
 * text and certificate fingerprints: all public, never a key or token.
 */

/** What ssw keeps of a failed call, in the failure's `details[0]`, so callers can branch on the status (e.g. 409). */
export interface LxdFailureDetails {
  endpoint: string;
  method: string;
  path: string;
  /** HTTP status, or LXD's operation status code for a failed operation; null for network faults. */
  status: number | null;
  /** LXD's `error` text (or the network error code). */
  error: string;
}

/** The HTTP status of an LXD failure raised by this client, if any. */
export function lxdStatusOf(err: unknown): number | undefined {
  if (!(err instanceof ApplicationFailure)) return undefined;
  const d = err.details?.[0] as Partial<LxdFailureDetails> | undefined;
  return typeof d?.status === 'number' ? d.status : undefined;
}

/** An HTTP answer other than 2xx: 401/403 mean our certificate is not trusted; other 4xx are final; 5xx may pass. */
export function httpFailure(d: LxdFailureDetails): ApplicationFailure {
  const what = `LXD ${d.method} ${d.path} on ${d.endpoint} failed (HTTP ${d.status}): ${d.error || 'no error text'}`;
  const status = d.status ?? 0;
  if (status === 401 || status === 403) {
    return ApplicationFailure.create({
      message: `${what}. The server does not trust this client certificate; trust it with a token (ssw remote add) and try again.`,
      type: FailureType.AuthFailed,
      nonRetryable: true,
      details: [d],
    });
  }
  if (status >= 500)
    return ApplicationFailure.create({ message: what, type: FailureType.LxdServerError, details: [d] });
  return ApplicationFailure.create({ message: what, type: FailureType.LxdApi, nonRetryable: true, details: [d] });
}

const NETWORK_MESSAGES: Record<string, string> = {
  ...NETWORK_ERROR_WORDS,
  ECONNREFUSED: 'connection refused (is LXD running, and is core.https_address set to this address?)',
  ENOENT: 'no such socket (is LXD running?)',
  EACCES: 'permission denied on the socket',
};

/** A transport fault (refused, reset, socket missing): retryable, naming the endpoint. */
export function networkFailure(
  d: Omit<LxdFailureDetails, 'status' | 'error'>,
  err: NodeJS.ErrnoException,
): ApplicationFailure {
  const code = err.code ?? 'ERROR';
  const why = NETWORK_MESSAGES[code] ?? err.message;
  return ApplicationFailure.create({
    message: `Cannot reach the LXD API at ${d.endpoint} (${d.method} ${d.path}): ${why}`,
    type: FailureType.LxdUnreachable,
    cause: err,
    details: [{ ...d, status: null, error: code }],
  });
}

/** The server took longer than the request timeout: retryable. */
export function timeoutFailure(d: Omit<LxdFailureDetails, 'status' | 'error'>, ms: number): ApplicationFailure {
  return ApplicationFailure.create({
    message: `The LXD API at ${d.endpoint} did not answer ${d.method} ${d.path} within ${ms} ms`,
    type: FailureType.LxdUnreachable,
    details: [{ ...d, status: null, error: 'ETIMEDOUT' }],
  });
}

/**
 * The server presented a certificate other than the pinned one. Nothing was sent: the request waits for the pin check.
 */
export function certMismatchFailure(
  endpoint: string,
  pinned: string,
  presented: string | undefined,
  tlsError?: string,
): ApplicationFailure {
  const got = presented
    ? `it presented a certificate with SHA-256 fingerprint ${presented}`
    : `its certificate is not the pinned one (TLS verification: ${tlsError ?? 'failed'})`;
  return ApplicationFailure.nonRetryable(
    `SERVER CERTIFICATE MISMATCH at ${endpoint}: ${got}, but the pinned fingerprint is ${pinned}. ` +
      'This is a possible man-in-the-middle attack or a reinstalled LXD; nothing was sent to it. ' +
      'If LXD was reinstalled, check its fingerprint on the host (lxc info | grep certificate_fingerprint) and take the remote under management again (ssw remote add).',
    FailureType.LxdCertMismatch,
  );
}

/** An LXD background operation ended in Failure or Cancelled. */
export function operationFailure(
  endpoint: string,
  op: { id: string; description?: string; status?: string; status_code?: number; err?: string },
): ApplicationFailure {
  const d: LxdFailureDetails = {
    endpoint,
    method: 'GET',
    path: `/1.0/operations/${op.id}`,
    status: op.status_code ?? null,
    error: op.err ?? op.status ?? '',
  };
  const what = op.description ? `"${op.description}"` : op.id;
  return ApplicationFailure.create({
    message: `LXD operation ${what} on ${endpoint} ${op.status === 'Cancelled' ? 'was cancelled' : 'failed'}: ${op.err || op.status || 'no error text'}`,
    type: FailureType.LxdApi,
    nonRetryable: true,
    details: [d],
  });
}

/**
 * An operation still running at the caller's deadline: retryable (the next attempt looks at the actual state first).
 */
export function operationTimeoutFailure(
  endpoint: string,
  id: string,
  description: string | undefined,
  ms: number,
): ApplicationFailure {
  return ApplicationFailure.create({
    message: `LXD operation ${description ? `"${description}" (${id})` : id} on ${endpoint} was still running after ${ms} ms`,
    type: FailureType.LxdServerError,
    details: [
      {
        endpoint,
        method: 'GET',
        path: `/1.0/operations/${id}/wait`,
        status: null,
        error: 'timeout',
      } satisfies LxdFailureDetails,
    ],
  });
}
