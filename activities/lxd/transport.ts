import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { FailureType } from '../../common/failure-types';
import { certFingerprint } from './client-cert';
import { certMismatchFailure, httpFailure, networkFailure, timeoutFailure, type LxdFailureDetails } from './failures';

/**
 * Opens one byte stream to the API, e.g. the host's unix socket forwarded over
 * SSH (`(cb) => ssh.openssh_forwardOutStreamLocal(socketPath, cb)`).
 */
export interface LxdStreamEndpoint {
  /** How failures name it, e.g. `ssh://root@host:22/var/lib/lxd/unix.socket`. */
  label: string;
  connect: (cb: (err: Error | undefined, stream: Duplex) => void) => void;
}

/** `https://host:8443` (a remote's API), a local unix socket, or a stream per request (plain HTTP, like the socket). */
export type LxdEndpoint = string | { socketPath: string } | LxdStreamEndpoint;

export interface LxdTransportOptions {
  endpoint: LxdEndpoint;
  /** The management machine's client certificate (HTTPS only); without it the server sees an untrusted client. */
  clientCert?: { certPem: string; keyPem: string };
  /**
   * The server's own certificate (PEM), recorded when the remote was taken
   * under management. Required for HTTPS: it is the only CA the connection
   * accepts, and its fingerprint is pinned.
   */
  serverCertPem?: string;
  /**
   * The pinned SHA-256 fingerprint (hex, colons allowed).
   * @default the fingerprint of `serverCertPem`
   */
  serverFingerprint?: string;
  /**
   * Per-request deadline (connect, TLS, request and whole response).
   * @default 30000
   */
  requestTimeoutMs?: number;
}

/** LXD's response envelope. */
export interface LxdEnvelope<T = unknown> {
  type: 'sync' | 'async' | 'error';
  status?: string;
  status_code?: number;
  operation?: string;
  error_code?: number;
  error?: string;
  metadata: T;
}

export interface LxdHttpResponse<T = unknown> {
  status: number;
  body: LxdEnvelope<T>;
  etag?: string;
  /** The body as sent, for `rawResponse` requests that succeeded (file contents, exec output logs). */
  raw?: Buffer;
  headers?: http.IncomingHttpHeaders;
}

export interface SendOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  signal?: AbortSignal;
  /** @default the transport's requestTimeoutMs */
  timeoutMs?: number;
  /** Sent as is (application/octet-stream) instead of `body` as JSON: file uploads. */
  rawBody?: Buffer;
  /** Extra request headers (e.g. X-LXD-uid for file uploads). */
  headers?: Record<string, string>;
  /** A 2xx answer's body is returned as bytes in `raw`, not parsed as JSON (file downloads); errors are still JSON. */
  rawResponse?: boolean;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** OpenSSL verification results meaning "not the certificate we pinned". */
const TLS_VERIFY_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
]);

/** Raised from checkServerIdentity: carries the presented fingerprint to the request's error handler. */
class PinMismatchError extends Error {
  constructor(readonly presented: string) {
    super(`server certificate fingerprint ${presented} is not the pinned one`);
  }
}

export function normalizeFingerprint(fp: string): string {
  return fp.replace(/:/g, '').trim().toLowerCase();
}

/**
 * One connection pool to one LXD/Incus server. `send` resolves with any HTTP
 * answer and rejects only for transport faults (as Temporal failures); the
 * client decides what an HTTP status means for each call.
 */
export class LxdTransport {
  /** How failures name the endpoint: `https://host:port`, `unix:/path`, or a stream endpoint's label. */
  readonly label: string;
  /** Undefined for stream endpoints: every request opens its own stream. */
  private readonly agent?: http.Agent;
  private readonly base: http.RequestOptions;
  private readonly isHttps: boolean;
  private readonly pinned?: string;
  private readonly timeoutMs: number;

  constructor(opts: LxdTransportOptions) {
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (typeof opts.endpoint !== 'string' && 'connect' in opts.endpoint) {
      const { connect, label } = opts.endpoint;
      this.isHttps = false;
      this.label = label;
      this.base = {
        host: 'lxd',
        // Called by http.request without an agent; the callback form lets the stream open asynchronously.
        createConnection: (_o: unknown, oncreate: (err: Error | null, stream: Duplex) => void) => {
          connect((err, stream) => oncreate(err ?? null, stream));
          return undefined;
        },
      } as http.RequestOptions;
      return;
    }
    if (typeof opts.endpoint !== 'string') {
      this.isHttps = false;
      this.label = `unix:${opts.endpoint.socketPath}`;
      this.agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
      this.base = { socketPath: opts.endpoint.socketPath, host: 'lxd' };
      return;
    }
    let url: URL;
    try {
      url = new URL(opts.endpoint);
    } catch {
      throw ApplicationFailure.nonRetryable(
        `Not an LXD endpoint URL: ${JSON.stringify(opts.endpoint)} (expected https://host:8443)`,
        FailureType.Validation,
      );
    }
    if (url.protocol !== 'https:') {
      throw ApplicationFailure.nonRetryable(`LXD endpoint ${opts.endpoint} must use https://`, FailureType.Validation);
    }
    if (!opts.serverCertPem) {
      throw ApplicationFailure.nonRetryable(
        `No pinned server certificate for ${opts.endpoint}: ssw only talks to an LXD API whose certificate it recorded when the remote was added`,
        FailureType.Validation,
      );
    }
    this.isHttps = true;
    this.label = `https://${url.host}`;
    const pinned = normalizeFingerprint(opts.serverFingerprint ?? certFingerprint(opts.serverCertPem));
    this.pinned = pinned;
    const tlsOptions: https.AgentOptions = {
      // The pinned certificate is the only CA: LXD's certificate is self-signed, so the chain check
      // accepts exactly that certificate (or one it signed), and checkServerIdentity then requires
      // the exact fingerprint. Host names are not checked: the pin is stricter than a name match.
      ca: opts.serverCertPem,
      checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => {
        const presented = crypto.createHash('sha256').update(cert.raw).digest('hex');
        return presented === pinned ? undefined : new PinMismatchError(presented);
      },
      cert: opts.clientCert?.certPem,
      key: opts.clientCert?.keyPem,
      minVersion: 'TLSv1.2',
    };
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 8, ...tlsOptions });
    this.base = { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 8443), ...tlsOptions };
  }

  /** Closes pooled connections. */
  close(): void {
    this.agent?.destroy();
  }

  async send<T = unknown>(method: string, path: string, o: SendOptions = {}): Promise<LxdHttpResponse<T>> {
    const where = { endpoint: this.label, method, path };
    if (o.signal?.aborted) throw new CancelledFailure(`LXD ${method} ${path} on ${this.label} was cancelled`);
    const payload = o.rawBody ?? (o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body)));
    const query = Object.entries(o.query ?? {}).filter((e): e is [string, string] => e[1] !== undefined);
    const fullPath = query.length > 0 ? `${path}?${new URLSearchParams(query).toString()}` : path;
    try {
      return await this.attempt<T>(method, fullPath, where, payload, o);
    } catch (err) {
      // A pooled connection the server closed while idle fails on first use; an idempotent request is safe to send once
      // more.
      if (err instanceof StaleSocketError && ['GET', 'HEAD', 'PUT', 'DELETE'].includes(method)) {
        return this.attempt<T>(method, fullPath, where, payload, o);
      }
      throw err instanceof StaleSocketError ? err.failure : err;
    }
  }

  private attempt<T>(
    method: string,
    fullPath: string,
    where: Omit<LxdFailureDetails, 'status' | 'error'>,
    payload: Buffer | undefined,
    o: SendOptions,
  ): Promise<LxdHttpResponse<T>> {
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    return new Promise<LxdHttpResponse<T>>((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { Accept: 'application/json', 'User-Agent': 'ssw' };
      if (payload)
        Object.assign(headers, {
          'Content-Type': o.rawBody ? 'application/octet-stream' : 'application/json',
          'Content-Length': payload.length,
        });
      if (o.headers) Object.assign(headers, o.headers);
      const request = this.isHttps ? https.request : http.request;
      const req = request({ ...this.base, agent: this.agent, method, path: fullPath, headers });

      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const timer = setTimeout(() => {
        finish(() => reject(timeoutFailure(where, timeoutMs)));
        req.destroy();
      }, timeoutMs);
      const onAbort = (): void => {
        finish(() => reject(new CancelledFailure(`LXD ${where.method} ${where.path} on ${this.label} was cancelled`)));
        req.destroy();
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });

      req.on('error', (err: NodeJS.ErrnoException) => {
        finish(() => {
          const failure = this.classify(err, where);
          const stale = req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
          reject(stale ? new StaleSocketError(failure) : failure);
        });
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) res.destroy(new Error(`response larger than ${MAX_BODY_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('error', (err: NodeJS.ErrnoException) => finish(() => reject(networkFailure(where, err))));
        res.on('end', () =>
          finish(() => {
            try {
              const body = Buffer.concat(chunks);
              const status = res.statusCode ?? 0;
              if (o.rawResponse && status >= 200 && status < 300) {
                resolve({ status, raw: body, headers: res.headers, body: { type: 'sync', metadata: undefined as T } });
              } else resolve(parseResponse<T>(res, body, where));
            } catch (err) {
              reject(err);
            }
          }),
        );
      });
      // Nothing (not even the request line) is written before the server's certificate passed the pin
      // check: on a new TLS connection the request waits for secureConnect, which only follows a
      // successful checkServerIdentity. A pooled connection was checked when it was opened.
      req.once('socket', (socket) => {
        if (socket instanceof tls.TLSSocket && !socket.authorized) socket.once('secureConnect', () => req.end(payload));
        else req.end(payload);
      });
    });
  }

  private classify(err: NodeJS.ErrnoException, where: Omit<LxdFailureDetails, 'status' | 'error'>): ApplicationFailure {
    if (err instanceof PinMismatchError) return certMismatchFailure(this.label, this.pinned!, err.presented);
    if (err.code && TLS_VERIFY_CODES.has(err.code))
      return certMismatchFailure(this.label, this.pinned!, undefined, `${err.code}: ${err.message}`);
    return networkFailure(where, err);
  }
}

/** A failure on a reused pooled connection, which `send` may retry once. */
class StaleSocketError extends Error {
  constructor(readonly failure: ApplicationFailure) {
    super(failure.message);
  }
}

function parseResponse<T>(
  res: http.IncomingMessage,
  raw: Buffer,
  where: Omit<LxdFailureDetails, 'status' | 'error'>,
): LxdHttpResponse<T> {
  const status = res.statusCode ?? 0;
  let body: LxdEnvelope<T>;
  try {
    body = JSON.parse(raw.toString('utf8')) as LxdEnvelope<T>;
  } catch {
    // Not LXD's JSON (a proxy, a wrong port): report what came back.
    const text = raw.toString('utf8').slice(0, 200).replace(/\s+/g, ' ').trim();
    throw httpFailure({ ...where, status, error: `not an LXD API response: ${text || '(empty body)'}` });
  }
  const etag = res.headers.etag;
  return { status, body, etag: typeof etag === 'string' ? etag : undefined };
}
