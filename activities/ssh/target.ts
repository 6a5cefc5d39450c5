import type { SshTarget } from '../../common/ssh-target';
import * as fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { utils, type ConnectConfig } from 'ssh2';
import { FailureType } from '../../common/failure-types';

/**
 * The target of an SSH connection and how we authenticate to it. Checked
 * before any network traffic, so a typo or a missing key fails at once and
 * for good instead of being retried as if the host were down.
 */

/**
 * Where and as whom to connect. Holds paths and names only, never key material, so it may travel in workflow inputs.
 */
export type { SshTarget } from '../../common/ssh-target';

/** `user@host:port`, the way every message names a target. */
export function describeTarget(t: Pick<SshTarget, 'user' | 'host' | 'port'>): string {
  return `${t.user}@${t.host}:${t.port}`;
}

/** Rejects what no retry can fix: an empty host, a port out of range, a user name that is not one. */
export function validateTarget(t: SshTarget): void {
  const problems: string[] = [];
  if (typeof t.host !== 'string' || t.host.length === 0 || /[\s\0]/.test(t.host))
    problems.push('host must be a non-empty name without spaces');
  if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535)
    problems.push(`port must be 1-65535 (got ${String(t.port)})`);
  if (typeof t.user !== 'string' || !/^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/.test(t.user))
    problems.push(`user must be a plain user name (got ${JSON.stringify(t.user)})`);
  if (problems.length) {
    throw ApplicationFailure.nonRetryable(`Invalid SSH target: ${problems.join('; ')}`, FailureType.Validation);
  }
}

/** ssh2 options for authentication; fails early (non-retryable) on a missing or unusable key. */
export function authConfig(t: SshTarget): Pick<ConnectConfig, 'privateKey' | 'agent'> {
  const cfg: Pick<ConnectConfig, 'privateKey' | 'agent'> = {};
  if (t.privateKeyPath) {
    let key: Buffer;
    try {
      key = fs.readFileSync(t.privateKeyPath);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(
        `Cannot read the SSH private key ${t.privateKeyPath} for ${describeTarget(t)}: ${(err as Error).message}`,
        FailureType.Secret,
      );
    }
    // Parse now so an encrypted or malformed key is reported as such, not as an auth failure.
    const parsed = utils.parseKey(key);
    if (parsed instanceof Error) {
      const hint = /encrypted|passphrase/i.test(parsed.message)
        ? 'ssw reads unencrypted key files only; load an encrypted key into ssh-agent and set useAgent instead.'
        : 'Expected an OpenSSH or PEM private key file.';
      throw ApplicationFailure.nonRetryable(
        `The SSH private key ${t.privateKeyPath} cannot be used: ${parsed.message}. ${hint}`,
        FailureType.Secret,
      );
    }
    cfg.privateKey = key;
  }
  if (t.useAgent) {
    const sock = process.env.SSH_AUTH_SOCK;
    if (!sock) {
      throw ApplicationFailure.nonRetryable(
        `${describeTarget(t)} should use ssh-agent, but SSH_AUTH_SOCK is not set in the worker's environment`,
        FailureType.Secret,
      );
    }
    cfg.agent = sock;
  }
  if (!cfg.privateKey && !cfg.agent) {
    throw ApplicationFailure.nonRetryable(
      `No way to authenticate to ${describeTarget(t)}: set privateKeyPath or useAgent`,
      FailureType.Validation,
    );
  }
  return cfg;
}
