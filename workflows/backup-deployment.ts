import type { BackupApp } from '../common/backup/plan';
import type { CertTarget } from '../common/tls/plan';
import { hostPort } from '../common/host-port';
import { backupTransfers } from './activity-options';
import { startBackupOperation } from './www-host';

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

export async function backupDeployment(input: BackupDeploymentInput): Promise<BackupDeploymentResult> {
  const steps = (u: { domain: string; app: string; offsite?: { remote: string } }) => ({
    backup: `${u.domain} ${u.app}: back up on the host`,
    pull: `${u.domain} ${u.app}: copy the archive to this machine`,
    ...(u.offsite ? { offsite: `${u.domain} ${u.app}: copy the archive off-site to ${u.offsite.remote}` } : {}),
  });
  const { progress, plan } = await startBackupOperation('backup', input, (u) => Object.values(steps(u)));

  const apps: AppBackup[] = [];
  for (const unit of plan.units) {
    const s = steps(unit);
    const backup = await progress.step(s.backup, () => backupTransfers.backupApp(plan, unit));
    if (backup.kind === 'none') {
      progress.skip(s.backup, `nothing to back up yet (${unit.source} does not exist)`);
      progress.skip(s.pull, 'nothing to copy');
      if (s.offsite) progress.skip(s.offsite, 'nothing to copy');
      continue;
    }
    const pulled = await progress.step(s.pull, () => backupTransfers.pullArchive(plan.host, unit));
    const offsite = s.offsite
      ? await progress.step(s.offsite, () => backupTransfers.copyArchiveOffsite(unit))
      : undefined;
    apps.push({
      domain: unit.domain,
      app: unit.app,
      kind: backup.kind,
      archiveFiles: backup.files.length,
      archiveBytes: backup.files.reduce((n, f) => n + f.size, 0),
      pulledBytes: pulled.bytesTransferred,
      resumedBytes: pulled.bytesResumed,
      ...(offsite && unit.offsite
        ? { offsite: { remote: unit.offsite.remote, sentBytes: offsite.bytesTransferred } }
        : {}),
    });
  }
  progress.finish();
  return { host: hostPort(plan.host.ssh), apps };
}
