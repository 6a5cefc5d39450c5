import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/failure-types';
import {
  fingerprintSha256,
  keyTypeOfBlob,
  knownHostsLine,
  knownHostsName,
  type KnownHostEntry,
} from '../../common/known-hosts';
import { describeTarget, type SshTarget } from './target';
import { shellQuote } from '../../common/shell-quote';
import { SSH_NETWORK_MESSAGES } from '../../common/network-errors';

/**
 * Every way an SSH connection fails, as a Temporal failure that says what
 * happened and whether retrying can help: host key and auth problems need the
 * operator (non-retryable); network problems usually pass (retryable).
 * Messages carry host, port, user, key paths and fingerprints: all public.
 */

function authMethods(t: SshTarget): string {
  const m: string[] = [];
  if (t.privateKeyPath) m.push(`key ${t.privateKeyPath}`);
  if (t.useAgent) m.push('the keys in ssh-agent');
  return m.join(' and ');
}

const NETWORK_MESSAGES = SSH_NETWORK_MESSAGES;

/**
 * Map an ssh2 connection error to a Temporal failure. Only authentication is
 * final here; everything else (refused, timeouts, resets, a server dropping
 * connections under MaxStartups) can pass, so it is retryable and the retry
 * policy decides how long to keep trying.
 */
export function classifyConnectError(
  err: Error & { level?: string; code?: string | number },
  t: SshTarget,
  readyTimeoutMs: number,
): ApplicationFailure {
  const where = `${t.host}:${t.port}`;
  if (err.level === 'client-authentication') {
    return ApplicationFailure.nonRetryable(
      `SSH authentication failed for ${describeTarget(t)} with ${authMethods(t)}: the host refused it. ` +
        `Check that the matching public key is in ~${t.user}/.ssh/authorized_keys on the host.`,
      FailureType.AuthFailed,
    );
  }
  if (err.level === 'client-timeout') {
    return ApplicationFailure.create({
      message: `Timed out after ${readyTimeoutMs} ms connecting to SSH on ${where} (TCP connect, key exchange and authentication must finish within that time)`,
      cause: err,
    });
  }
  const code = typeof err.code === 'string' ? err.code : undefined;
  const what = (code && NETWORK_MESSAGES[code]) || err.message;
  return ApplicationFailure.create({
    message: `Cannot reach SSH on ${where}: ${what}`,
    cause: err,
    details: [{ host: t.host, port: t.port, code: code ?? null }],
  });
}

/** The host is not pinned and this connection may not pin it: show the fingerprint and how to pin it. */
export function hostKeyUnknown(knownHostsFile: string, t: SshTarget, blob: Buffer): ApplicationFailure {
  const type = keyTypeOfBlob(blob);
  return ApplicationFailure.nonRetryable(
    `${knownHostsName(t.host, t.port)} is not in ${knownHostsFile}; it presented ${type} key ${fingerprintSha256(blob)}. ` +
      "Compare that fingerprint with the host's own (on its console: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), " +
      `then pin it with \`ssw remote add\` or by appending this line to the file: ${knownHostsLine(t.host, t.port, blob)}`,
    FailureType.HostKeyUnknown,
  );
}

/**
 * The host presented a key other than the pinned one(s): refuse, and name everything the operator needs to investigate.
 */
export function hostKeyMismatch(
  knownHostsFile: string,
  t: SshTarget,
  blob: Buffer,
  pinned: KnownHostEntry[],
): ApplicationFailure {
  const name = knownHostsName(t.host, t.port);
  const expected = pinned.map((e) => `${e.keyType} ${e.fingerprint} (${knownHostsFile}:${e.line})`).join(', ');
  return ApplicationFailure.nonRetryable(
    `HOST KEY MISMATCH for ${t.host} port ${t.port}: it presented ${keyTypeOfBlob(blob)} ${fingerprintSha256(blob)}, ` +
      `but the pinned key is ${expected}. This is a possible man-in-the-middle attack or a reinstalled host; nothing was sent to it. ` +
      `If the host was reinstalled, verify its new fingerprint on its console, then remove the old key (ssh-keygen -R ${shellQuote(name)} -f ${shellQuote(knownHostsFile)}) and pin the new one.`,
    FailureType.HostKeyMismatch,
  );
}
