import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureType } from '../../common/failure-types';
import type { SsPaths } from '../../common/paths';
import { withSsh, type SshTarget } from '../ssh/connect';
import { runChecked } from '../ssh/run';
import { aptInstallArgv, aptUpdateArgv, HostFacts, inspectArgv, missingPackages, parseFacts, SUPPORTED_OS } from './inspect';

export type { HostFacts } from './inspect';

/**
 * The host as a machine to provision, over SSH: what it runs and what it
 * lacks, and installing that. Only the pinned host key is accepted.
 */
export interface HostRequirements {
  disk: string; // "dir", "loop" or a block device path
  dataPlaneInterface?: string;
  backend: 'lxd' | 'incus';
}

export function createHostActivities({ paths }: { paths: SsPaths }) {
  const connect = { hostKeys: { knownHostsFile: paths.knownHosts, mode: 'pinned' as const } };

  /** Learns the host's facts and refuses, for good, a host that cannot be provisioned. */
  async function inspectHost(target: SshTarget, req: HostRequirements): Promise<HostFacts> {
    const facts = await withSsh(target, connect, async ({ client }) =>
      parseFacts((await runChecked(client, inspectArgv(req.disk, req.dataPlaneInterface), { timeoutMs: 60_000 })).stdout),
    );
    const where = `${target.user}@${target.host}:${target.port}`;
    const refuse = (message: string, type: string = FailureType.Validation) => {
      throw ApplicationFailure.nonRetryable(message, type);
    };
    if (!SUPPORTED_OS.includes(facts.osId)) {
      refuse(`${where} runs "${facts.osId || 'an unknown OS'} ${facts.osVersionId}"; ssw provisions Debian and Ubuntu hosts only.`);
    }
    if (facts.uid !== 0 && !facts.sudo) {
      refuse(`${target.user} on ${target.host} is not root and has no passwordless sudo, which installing and configuring ${req.backend} needs. Use --ssh-user root, or allow sudo without a password for ${target.user}.`, FailureType.Privileges);
    }
    if (!facts.diskExists) {
      refuse(`The disk ${req.disk} does not exist on ${target.host} (no such block device). Run "lsblk --paths" there and pass --disk with one it lists, or --disk loop.`);
    }
    if (!facts.interfaceExists) {
      refuse(`The data-plane interface ${req.dataPlaneInterface} does not exist on ${target.host}. Run "ip link" there and pass --data-plane-interface with one it lists.`);
    }
    if (!facts.mgmtIp) refuse(`Could not learn ${target.host}'s address on the SSH connection (SSH_CONNECTION is empty).`);
    return facts;
  }

  /**
   * Installs what is missing (LXD or Incus; ZFS tools unless the pool is a
   * directory), then inspects again. Skipped when nothing is missing, so a
   * retry after a crash re-checks instead of re-installing.
   */
  async function installHostPackages(target: SshTarget, req: HostRequirements): Promise<{ installed: string[]; facts: HostFacts }> {
    const before = await inspectHost(target, req);
    const pkgs = missingPackages(before, req.backend, req.disk);
    if (pkgs.length === 0) return { installed: [], facts: before };
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat({ installing: pkgs }), 5_000);
    try {
      await withSsh(target, connect, async ({ client }) => {
        // apt exits 100 when another apt holds its lock (e.g. unattended-upgrades): worth retrying.
        await runChecked(client, aptUpdateArgv(before), { timeoutMs: 10 * 60_000, signal: ctx.cancellationSignal, retryableExitCodes: [100] });
        await runChecked(client, aptInstallArgv(before, pkgs), { timeoutMs: 20 * 60_000, signal: ctx.cancellationSignal, retryableExitCodes: [100] });
      });
    } finally {
      clearInterval(beat);
    }
    const after = await inspectHost(target, req);
    const still = missingPackages(after, req.backend, req.disk);
    if (still.length > 0) {
      throw ApplicationFailure.nonRetryable(`apt-get reported success but ${still.join(', ')} is still missing on ${target.host}.`, FailureType.CommandFailed);
    }
    return { installed: pkgs, facts: after };
  }

  return { inspectHost, installHostPackages };
}
