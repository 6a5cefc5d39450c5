import { ApplicationFailure } from '@temporalio/workflow';
import type { SshTarget } from '../activities/ssh';
import { FailureType } from '../common/failure-types';
import { hostPort } from '../common/host-port';
import { hostRead } from './activity-options';
import { Progress } from './progress';

/**
 * checkHost: the preflight an operator runs before taking a host under
 * management. Read-only: it connects with the pinned host key, identifies
 * the OS, and lists the tools ssw relies on and the free disk space.
 */
export interface CheckHostInput {
  target: SshTarget;
}

export interface CheckHostResult {
  host: string;
  port: number;
  hostKeyFingerprint: string;
  os: { id: string; versionId: string; prettyName: string };
  kernel: string;
  arch: string;
  tools: string[];
  rootFreeKiB: number;
}

const { sshCheck, sshRun } = hostRead;

const TOOLS = ['lxd', 'incus', 'zfs', 'docker', 'duplicity', 'certbot', 'nsupdate'];

export async function checkHost({ target }: CheckHostInput): Promise<CheckHostResult> {
  // Same form as the CLI's hostTarget(): IPv6 in brackets.
  const remote = hostPort(target);
  const progress = Progress.start('check-host', { remote }, [
    'Reach SSH with the pinned host key',
    'List installed tools',
    'Measure free disk space',
  ]);

  const facts = await progress.step('Reach SSH with the pinned host key', () => sshCheck(target));

  const tools = await progress.step('List installed tools', async () => {
    // A fixed script: nothing from config or input reaches the shell.
    const script = 'for t in "$@"; do command -v "$t" >/dev/null 2>&1 && echo "$t"; done; true';
    const out = await sshRun(target, ['sh', '-c', script, 'sh', ...TOOLS]);
    return out.stdout.split('\n').filter((t) => t !== '');
  });

  const rootFreeKiB = await progress.step('Measure free disk space', async () => {
    const out = await sshRun(target, ['df', '-Pk', '/']);
    if (out.exitCode !== 0) {
      throw ApplicationFailure.nonRetryable(
        `df on ${target.host} exited ${out.exitCode}: ${out.stderr.trim()}`,
        FailureType.CommandFailed,
      );
    }
    const fields = out.stdout.trim().split('\n').pop()?.split(/\s+/) ?? [];
    return Number(fields[3] ?? 0);
  });

  progress.finish();
  return { host: target.host, port: target.port, ...facts, tools, rootFreeKiB };
}
