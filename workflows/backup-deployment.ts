import { proxyActivities, type RetryPolicy } from '@temporalio/workflow';
import type { SswActivities } from '../activities';
import type { BackupApp } from '../common/backup/plan';
import { NON_RETRYABLE_FAILURE_TYPES } from '../common/failure-types';
import { certOperationTarget, type CertTarget } from '../common/tls/plan';
import { waitForTurn, WAIT_STEP } from './exclusive';
import { Progress } from './progress';

/**
 * backupDeployment (`ssw backup`): an encrypted, incremental backup of every
 * app of every site, kept on the host's backup volume and copied to this
 * machine. Runbook, per app of each site (one step each, so a failure or a
 * crash redoes only that piece):
 *   1. duplicity on the host: the app's data into its archive, full when the
 *      last full is older than BACKUP_FULL_EVERY_DAYS, else incremental; then
 *      backups older than BACKUP_KEEP_DAYS are removed.
 *   2. The archive's new files are pulled here over SFTP (resumed, identical
 *      files skipped), under $SS_ROOT/sites/<domain>/backups/www/<app>.
 *   3. When the site names an off-site remote (BACKUP_OFFSITE_REMOTE), this
 *      machine's copy goes on to it too: a second data center.
 */
export interface BackupDeploymentInput {
  target: CertTarget;
  /** Only these apps (ghost, nextcloud, gitea, nostr, letsencrypt). */
  apps?: BackupApp[];
}

export interface AppBackup {
  domain: string;
  app: string;
  kind: 'full' | 'incremental' | 'none';
  archiveFiles: number;
  archiveBytes: number;
  pulledBytes: number;
  /** Bytes not sent again because an interrupted copy's partial file already held them. */
  resumedBytes: number;
  /** The second copy, when BACKUP_OFFSITE_REMOTE is set. */
  offsite?: { remote: string; sentBytes: number };
}

export interface BackupDeploymentResult {
  host: string;
  apps: AppBackup[];
}

const retry: RetryPolicy = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 6, nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES };
const quick = proxyActivities<SswActivities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '30s', retry });
// duplicity and transfers of large apps take long; they heartbeat every 2-3 s, so a dead worker is noticed in 20 s.
const long = proxyActivities<SswActivities>({ startToCloseTimeout: '12 hours', heartbeatTimeout: '20s', retry });

export async function backupDeployment(input: BackupDeploymentInput): Promise<BackupDeploymentResult> {
  const STEPS = { plan: 'Read the sites and apps from the config', ssh: 'Reach the www host with the pinned host key', duplicity: 'Make sure duplicity is installed' };
  const progress = Progress.start('backup', certOperationTarget(input.target), [WAIT_STEP, ...Object.values(STEPS)]);
  await waitForTurn(progress, certOperationTarget(input.target));
  const plan = await progress.step(STEPS.plan, () => quick.planBackup(input.target, { apps: input.apps }));
  const steps = (u: { domain: string; app: string; offsite?: { remote: string } }) => ({
    backup: `${u.domain} ${u.app}: back up on the host`,
    pull: `${u.domain} ${u.app}: copy the archive to this machine`,
    ...(u.offsite ? { offsite: `${u.domain} ${u.app}: copy the archive off-site to ${u.offsite.remote}` } : {}),
  });
  progress.addSteps(plan.units.flatMap((u) => Object.values(steps(u))));
  await progress.step(STEPS.ssh, () => quick.sshCheck(plan.host.ssh));
  await progress.step(STEPS.duplicity, () => long.ensureDuplicity(plan.host.ssh));

  const apps: AppBackup[] = [];
  for (const unit of plan.units) {
    const s = steps(unit);
    const backup = await progress.step(s.backup, () => long.backupApp(plan, unit));
    if (backup.kind === 'none') {
      progress.skip(s.backup, `nothing to back up yet (${unit.source} does not exist)`);
      progress.skip(s.pull, 'nothing to copy');
      if (s.offsite) progress.skip(s.offsite, 'nothing to copy');
      continue;
    }
    const pulled = await progress.step(s.pull, () => long.pullArchive(plan.host, unit));
    const offsite = s.offsite ? await progress.step(s.offsite, () => long.copyArchiveOffsite(unit)) : undefined;
    apps.push({
      domain: unit.domain,
      app: unit.app,
      kind: backup.kind,
      archiveFiles: backup.files.length,
      archiveBytes: backup.files.reduce((n, f) => n + f.size, 0),
      pulledBytes: pulled.bytesTransferred,
      resumedBytes: pulled.bytesResumed,
      ...(offsite && unit.offsite ? { offsite: { remote: unit.offsite.remote, sentBytes: offsite.bytesTransferred } } : {}),
    });
  }
  progress.finish();
  return { host: `${plan.host.ssh.host}:${plan.host.ssh.port}`, apps };
}
