import { pinnedConnectOptions, withSsh, type ConnectOptions, type SshConnection } from './connect';
import { sshStep, type SshStep, type SshStepOptions } from './step';
import type { SshTarget } from './target';

/**
 * How activities open SSH connections: per host, one connection per call,
 * never shared between calls (a retried or cancelled attempt must not
 * inherit a half-used session). Injected into the activity factories; the
 * worker wires {@link pinnedSsh}.
 */
export interface SshConnector {
  /** A short exchange on a fresh connection, closed afterwards (see `withSsh`). */
  session<T>(
    target: SshTarget,
    fn: (conn: SshConnection) => Promise<T>,
    tuning?: Omit<ConnectOptions, 'hostKeys'>,
  ): Promise<T>;
  /** A long step on a fresh connection, heartbeating its progress (see `sshStep`). */
  step<T>(
    what: string,
    target: SshTarget,
    initial: unknown,
    fn: (s: SshStep) => Promise<T>,
    opts?: SshStepOptions,
  ): Promise<T>;
}

/** The real connector: every connection checks the host's key against the one pinned in `knownHostsFile`. */
export function pinnedSsh(knownHostsFile: string): SshConnector {
  return {
    session: (target, fn, tuning) => withSsh(target, pinnedConnectOptions(knownHostsFile, tuning), fn),
    step: (what, target, initial, fn, opts) =>
      sshStep(what, target, pinnedConnectOptions(knownHostsFile), initial, fn, opts),
  };
}
