import { ApplicationFailure } from '@temporalio/common';
import { Client, type ConnectConfig } from 'ssh2';
import { FailureType } from '../../common/failure-types';
import { classifyConnectError, hostKeyMismatch, hostKeyUnknown } from './failures';
import {
  HostKeyConflictError,
  fingerprintSha256,
  keyTypeOfBlob,
  lookupHostKeys,
  pinHostKey,
  type KnownHostEntry,
} from '../../common/known-hosts';
import { authConfig, describeTarget, validateTarget, type SshTarget } from './target';

export type { SshTarget } from './target';
export { describeTarget } from './target';

/**
 * Opening SSH connections with a strict host key policy: the host's key is
 * checked against ssw's known_hosts before any credential is sent.
 */

/** How the host's key is checked against ssw's known_hosts file. */
export interface HostKeyPolicy {
  knownHostsFile: string;
  /**
   * 'pinned': the host must already be in the file (every workflow step).
   * 'pin-on-first-use': an unknown host's key is pinned once authentication
   * succeeds (`ssw remote add`, after showing the operator the fingerprint);
   * a known host must still match.
   */
  mode: 'pinned' | 'pin-on-first-use';
}

export interface ConnectOptions {
  hostKeys: HostKeyPolicy;
  /**
   * Budget for TCP connect, key exchange and authentication together.
   * @default 20000
   */
  readyTimeoutMs?: number;
  /**
   * SSH keepalive interval: a keepalive is sent after this long without
   * traffic from the host, and {@link ConnectOptions.keepaliveCountMax}
   * unanswered ones drop the connection, so a dead host or a cut network
   * (no FIN, no data) fails pending commands and transfers within about
   * interval × (count + 1) instead of hanging them.
   * @default 5000
   */
  keepaliveIntervalMs?: number;
  /** @default 3 */
  keepaliveCountMax?: number;
}

/**
 * The options of every workflow step's connection: the host's key must be
 * the one pinned in `knownHostsFile` (see {@link HostKeyPolicy}), plus any
 * tuning (e.g. a shorter `readyTimeoutMs` for a poll).
 */
export function pinnedConnectOptions(
  knownHostsFile: string,
  tuning: Omit<ConnectOptions, 'hostKeys'> = {},
): ConnectOptions {
  return { hostKeys: { knownHostsFile, mode: 'pinned' }, ...tuning };
}

/** The host key a connection was verified against. */
export interface HostKeyInfo {
  keyType: string;
  /** `SHA256:...`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** True when this connection pinned the key (pin-on-first-use on an unknown host). */
  newlyPinned: boolean;
}

/** An authenticated connection. Close it with `client.end()` (see {@link withSsh}). */
export interface SshConnection {
  client: Client;
  hostKey: HostKeyInfo;
}

// ssh2 1.17's default server host key order (lib/protocol/constants.js).
const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/**
 * Put the pinned key types first in the host key negotiation. ssh2 asks for
 * one key type; a host with several keys would otherwise present (say) its
 * ed25519 key while we pinned its rsa key, which would look like a mismatch.
 * This is what OpenSSH does with the types it finds in known_hosts.
 */
function hostKeyAlgorithms(pinned: KnownHostEntry[]): string[] | undefined {
  if (pinned.length === 0) return undefined;
  const preferred: string[] = [];
  for (const e of pinned) {
    const algos = e.keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [e.keyType];
    for (const a of algos) if (!preferred.includes(a)) preferred.push(a);
  }
  return [...preferred, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => !preferred.includes(a))];
}

/**
 * Connect and authenticate, verifying the host key against known_hosts first.
 *
 * ssh2 calls the host verifier during key exchange, before any credential is
 * sent, so a wrong host never sees an authentication attempt. It verifies the
 * host's signature only after the verifier, which is why pin-on-first-use
 * writes the key once the connection is ready, never from inside the verifier.
 */
export async function connectSsh(target: SshTarget, opts: ConnectOptions): Promise<SshConnection> {
  validateTarget(target);
  const auth = authConfig(target);
  const policy = opts.hostKeys;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
  const pinned = lookupHostKeys(policy.knownHostsFile, target.host, target.port);
  const algos = hostKeyAlgorithms(pinned);

  return new Promise<SshConnection>((resolve, reject) => {
    const client = new Client();
    let settled = false;
    let hostKeyFailure: ApplicationFailure | undefined;
    let presented: Buffer | undefined;

    const fail = (failure: ApplicationFailure): void => {
      if (settled) return;
      settled = true;
      client.end();
      reject(failure);
    };

    // Stays attached for the connection's life: ssh2 emits 'error' on the
    // client for late socket errors, and an unhandled 'error' kills the worker.
    // Commands in flight learn of it through their channel closing.
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      fail(hostKeyFailure ?? classifyConnectError(err, target, readyTimeoutMs));
    });
    client.on('close', () => {
      fail(
        hostKeyFailure ??
          ApplicationFailure.create({
            message: `SSH connection to ${target.host}:${target.port} closed before authentication finished`,
          }),
      );
    });
    client.on('ready', () => {
      if (settled) return;
      const blob = presented!;
      let newlyPinned = false;
      if (pinned.length === 0) {
        try {
          newlyPinned = pinHostKey(policy.knownHostsFile, target.host, target.port, blob).added;
        } catch (err) {
          // Another connection pinned a different key in the meantime: treat as a mismatch.
          if (err instanceof HostKeyConflictError)
            return fail(hostKeyMismatch(policy.knownHostsFile, target, blob, [err.existing]));
          return fail(
            ApplicationFailure.create({ message: `Cannot write ${policy.knownHostsFile}: ${(err as Error).message}` }),
          );
        }
      }
      settled = true;
      resolve({ client, hostKey: { keyType: keyTypeOfBlob(blob), fingerprint: fingerprintSha256(blob), newlyPinned } });
    });

    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      ...auth,
      readyTimeout: readyTimeoutMs,
      keepaliveInterval: opts.keepaliveIntervalMs ?? 5_000,
      keepaliveCountMax: opts.keepaliveCountMax ?? 3,
      hostVerifier: (key: Buffer): boolean => {
        presented = key;
        if (pinned.length > 0) {
          if (pinned.some((e) => e.keyBlob.equals(key))) return true;
          hostKeyFailure = hostKeyMismatch(policy.knownHostsFile, target, key, pinned);
          return false;
        }
        if (policy.mode === 'pinned') {
          hostKeyFailure = hostKeyUnknown(policy.knownHostsFile, target, key);
          return false;
        }
        return true;
      },
    };
    if (algos)
      config.algorithms = { serverHostKey: algos as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] };
    try {
      client.connect(config);
    } catch (err) {
      fail(
        ApplicationFailure.nonRetryable(
          `Cannot start an SSH connection to ${describeTarget(target)}: ${(err as Error).message}`,
          FailureType.Validation,
        ),
      );
    }
  });
}

/**
 * Run `fn` on a fresh connection and always close it afterwards, so a failed
 * step never leaks a connection (and the sshd session slot it holds).
 */
export async function withSsh<T>(
  target: SshTarget,
  opts: ConnectOptions,
  fn: (conn: SshConnection) => Promise<T>,
): Promise<T> {
  const conn = await connectSsh(target, opts);
  try {
    return await fn(conn);
  } finally {
    conn.client.end();
  }
}
