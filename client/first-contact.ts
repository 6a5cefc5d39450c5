import { UserError } from '../common/errors';
import type { SshTarget } from '../common/hosts';
import {
  fingerprintSha256,
  forgetHostKey,
  keyTypeOfBlob,
  knownHostsLine,
  lookupHostKeys,
  pinHostKey,
} from '../common/known-hosts';
import { SSH_NETWORK_MESSAGES } from '../common/network-errors';

/**
 * First contact with a host: the one place the CLI opens a connection itself.
 *
 * Everything else the CLI does to a host goes through a workflow, whose
 * activities connect only to hosts whose key is already pinned in ssw's
 * known_hosts. A new host's key has to come from somewhere first: this module
 * reads the key a host presents (a key exchange, then hang up, before any
 * credential is sent), shows its fingerprint, and pins it only when the
 * operator gave the fingerprint they verified, or on first use inside
 * `remote add` (after showing it). It must run here, in the operator's
 * process and before any workflow starts, because the pin is the trust the
 * workflow then relies on. `remote remove` and a failed `remote add` forget
 * what was pinned through here too.
 */

/** What {@link probeHostKey} learned. The key is public data, safe to show and store. */
export interface ProbedHostKey {
  keyType: string;
  fingerprint: string;
  keyBlob: Buffer;
  /** The known_hosts line that would pin it. */
  knownHostsLine: string;
}

const NETWORK_MESSAGES = SSH_NETWORK_MESSAGES;

/** Why the key exchange did not finish, in the words the SSH activities use. */
function probeError(
  err: Error & { level?: string; code?: string | number },
  host: string,
  port: number,
  readyTimeoutMs: number,
): Error {
  if (err.level === 'client-timeout') {
    return new Error(
      `Timed out after ${readyTimeoutMs} ms connecting to SSH on ${host}:${port} ` +
        '(TCP connect, key exchange and authentication must finish within that time)',
    );
  }
  const code = typeof err.code === 'string' ? err.code : undefined;
  return new Error(`Cannot reach SSH on ${host}:${port}: ${(code && NETWORK_MESSAGES[code]) || err.message}`);
}

/**
 * Learn a host's key without authenticating: complete the key exchange (which
 * proves the host holds the key's private half), then hang up before any
 * credential is sent.
 */
export async function probeHostKey(
  host: string,
  port: number,
  opts: { readyTimeoutMs?: number } = {},
): Promise<ProbedHostKey> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
  const { Client } = await import('ssh2'); // loaded on use: --help and config commands never need it
  return new Promise<ProbedHostKey>((resolve, reject) => {
    const client = new Client();
    let settled = false;
    let key: Buffer | undefined;
    client.on('handshake', () => {
      if (settled || !key) return;
      settled = true;
      client.end();
      resolve({
        keyType: keyTypeOfBlob(key),
        fingerprint: fingerprintSha256(key),
        keyBlob: key,
        knownHostsLine: knownHostsLine(host, port, key),
      });
    });
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(probeError(err, host, port, readyTimeoutMs));
    });
    client.on('close', () => {
      if (settled) return;
      settled = true;
      reject(new Error(`SSH connection to ${host}:${port} closed before the key exchange finished`));
    });
    client.connect({
      host,
      port,
      username: 'ssw-probe',
      readyTimeout: readyTimeoutMs,
      // Learn the key; accepting it here authorises nothing, since we hang up right after the handshake.
      hostVerifier: (k: Buffer): boolean => {
        key = k;
        return true;
      },
      // No credentials are configured; stop at 'none' if the handshake event ever comes late.
      authHandler: ['none'],
    });
  });
}

/** The host's own public key file for a key type, where the operator compares fingerprints. */
function hostKeyFile(keyType: string): string {
  return `/etc/ssh/ssh_host_${keyType.replace(/^ssh-/, '')}_key.pub`;
}

/**
 * Host keys are pinned, never trusted blindly: an unknown host's key is
 * pinned only when the operator passes the fingerprint they verified, or,
 * inside `remote add` (taking a new host under management), on first use
 * after showing it. Returns whether this call pinned the key.
 */
export async function ensureHostKeyPinned(
  knownHosts: string,
  t: SshTarget,
  expected: string | undefined,
  opts: { trustOnFirstUse?: boolean; notify?: (line: string) => void } = {},
): Promise<{ pinnedNow: boolean; keyType?: string }> {
  if (lookupHostKeys(knownHosts, t.host, t.port).length > 0 && !expected) return { pinnedNow: false };
  let probed;
  try {
    probed = await probeHostKey(t.host, t.port, { readyTimeoutMs: 15000 });
  } catch (err) {
    throw new UserError(`${(err as Error).message}. Check the host and --ssh-port; nothing was started.`);
  }
  if (!expected && !opts.trustOnFirstUse) {
    throw new UserError(
      `The host key of ${t.host}:${t.port} is not pinned in ${knownHosts}. ` +
        `The host presented ${probed.keyType} ${probed.fingerprint}. ` +
        `Compare it with the host's own key (on the host: ssh-keygen -lf ${hostKeyFile(probed.keyType)}) ` +
        `and, if they match, run the command again with --pin-host-key ${probed.fingerprint}.`,
    );
  }
  if (expected && expected !== probed.fingerprint) {
    throw new UserError(
      `${t.host}:${t.port} presented ${probed.keyType} ${probed.fingerprint}, ` +
        `not the ${expected} you gave with --pin-host-key. ` +
        'Nothing was pinned. If the host was reinstalled, verify its new key on the console first; ' +
        'otherwise someone may be intercepting the connection.',
    );
  }
  let added: boolean;
  try {
    added = pinHostKey(knownHosts, t.host, t.port, probed.keyBlob).added;
  } catch (err) {
    throw new UserError(`${(err as Error).message}`);
  }
  if (added && !expected) {
    opts.notify?.(
      `Pinned the host key of ${t.host}:${t.port} on first use: ` +
        `${probed.keyType} ${probed.fingerprint} (in ${knownHosts}). ` +
        `Verify it on the host's console: ssh-keygen -lf ${hostKeyFile(probed.keyType)}`,
    );
  }
  return { pinnedNow: added, keyType: probed.keyType };
}

/** Forgets the key pinned for host:port (only `keyType` when given): what `remote add` pinned, on undo or remove. */
export function forgetPinnedHostKey(knownHosts: string, host: string, port: number, keyType?: string): void {
  forgetHostKey(knownHosts, host, port, keyType);
}
