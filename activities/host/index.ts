import { ApplicationFailure } from '@temporalio/activity';
import type { Backend, BackendChoice } from '../../common/backend';
import { FailureType } from '../../common/failure-types';
import type { SshTarget } from '../ssh/connect';
import type { SshConnector } from '../ssh/connector';
import { runChecked } from '../ssh/run';
import {
  chooseBackend,
  factsFor,
  grantSocketArgv,
  HostFacts,
  inspectArgv,
  installArgvs,
  missingPackages,
  parseFacts,
  refusalFor,
} from './inspect';

export type { HostFacts } from './inspect';

/**
 * The host as a machine to provision, over SSH: what it runs and what it
 * lacks, and installing that. Only the pinned host key is accepted.
 */
export interface HostRequirements {
  disk: string; // "dir", "loop" or a block device path
  dataPlaneInterface?: string;
  /** `auto`: the one the host runs (see chooseBackend). */
  backend: BackendChoice;
}

/** The host's facts and the backend chosen for it. */
export type InspectedHost = HostFacts & { backend: Backend };

export function createHostActivities({ ssh }: { ssh: SshConnector }) {
  /**
   * Learns the host's facts, chooses the backend (detected when `auto`), and
   * refuses, for good, a host that cannot be provisioned.
   */
  async function inspectHost(target: SshTarget, req: HostRequirements): Promise<InspectedHost> {
    const raw = await ssh.session(target, async ({ client }) =>
      parseFacts(
        (await runChecked(client, inspectArgv(req.disk, req.dataPlaneInterface), { timeoutMs: 20_000 })).stdout,
      ),
    );
    const chosen = chooseBackend(req.backend, raw, target.host);
    if (chosen.refusal !== undefined) throw ApplicationFailure.nonRetryable(chosen.refusal, FailureType.Validation);
    const facts = factsFor(raw, chosen.backend);
    const refusal = refusalFor(facts, { ...req, backend: chosen.backend }, target);
    if (refusal)
      throw ApplicationFailure.nonRetryable(
        refusal.message,
        refusal.privileges ? FailureType.Privileges : FailureType.Validation,
      );
    return { ...facts, backend: chosen.backend };
  }

  /**
   * Installs what is missing (LXD or Incus; ZFS tools unless the pool is a
   * directory), then inspects again. Skipped when nothing is missing, so a
   * retry after a crash re-checks instead of re-installing.
   */
  async function installHostPackages(
    target: SshTarget,
    req: HostRequirements,
  ): Promise<{ installed: string[]; facts: InspectedHost }> {
    const before = await inspectHost(target, req);
    // Chosen once: after installing, the host runs what was chosen.
    req = { ...req, backend: before.backend };
    const pkgs = missingPackages(before, before.backend, req.disk);
    if (pkgs.length === 0) return grantSocketAccess(target, req, before, []);
    await ssh.step(`installing ${pkgs.join(', ')} on ${target.host}`, target, { installing: pkgs }, async (s) => {
      for (const argv of installArgvs(before, pkgs)) {
        // apt exits 100 when another apt holds its lock (e.g. unattended-upgrades): worth retrying.
        await s.runChecked(argv, { timeoutMs: 20 * 60_000, retryableExitCodes: [100] });
      }
    });
    const after = await inspectHost(target, req);
    const still = missingPackages(after, after.backend, req.disk);
    if (still.length > 0) {
      throw ApplicationFailure.nonRetryable(
        `apt-get reported success but ${still.join(', ')} is still missing on ${target.host}.`,
        FailureType.CommandFailed,
      );
    }
    return grantSocketAccess(target, req, after, pkgs);
  }

  /**
   * A non-root SSH user (with sudo) reaches the API socket through its group,
   * as ss-remote does with `adduser ubuntu lxd`; the next login has it.
   */
  async function grantSocketAccess(
    target: SshTarget,
    req: HostRequirements,
    facts: InspectedHost,
    installed: string[],
  ): Promise<{ installed: string[]; facts: InspectedHost }> {
    if (!facts.socketPath) {
      // Just installed, the daemon may still be starting: worth retrying.
      throw ApplicationFailure.create({
        message: `No ${req.backend} socket on ${target.host} yet; is the daemon running?`,
      });
    }
    if (facts.socketAccess) return { installed, facts };
    if (!facts.socketGroup || facts.socketGroup === 'root') {
      throw ApplicationFailure.nonRetryable(
        `${target.user} cannot use ${facts.socketPath} on ${target.host}, which only root may use. Use --ssh-user root.`,
        FailureType.Privileges,
      );
    }
    await ssh.session(target, ({ client }) =>
      runChecked(client, grantSocketArgv(facts, facts.socketGroup, target.user), { timeoutMs: 30_000 }),
    );
    const after = await inspectHost(target, req);
    if (!after.socketAccess) {
      throw ApplicationFailure.nonRetryable(
        `${target.user} was added to group ${facts.socketGroup} on ${target.host} but still cannot use ${facts.socketPath}.`,
        FailureType.Privileges,
      );
    }
    return { installed: [...installed, `group ${facts.socketGroup} for ${target.user}`], facts: after };
  }

  return { inspectHost, installHostPackages };
}
