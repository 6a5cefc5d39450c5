import type { BackupApp } from '../common/backup/plan';
import type { CertTarget } from '../common/tls/plan';
import { hostPort } from '../common/host-port';
import { backupTransfers } from './activity-options';
import { startBackupOperation } from './www-host';

/**
 * restoreDeployment (`ssw restore`): put apps' data back from their backups.
 * Runbook, per app of each site:
 *   1. Push the archive files the host lacks from this machine (a rebuilt
 *      host has none); resumed, identical files skipped.
 *   2. duplicity restore (latest, or as of --time) into a fresh directory
 *      beside the live data, then swap it in; the live data is renamed aside,
 *      never deleted, and only once the restored copy is complete.
 * Finished apps are not redone when the worker dies midway: each is a step
 * of its own in the history.
 */
export interface RestoreDeploymentInput {
  target: CertTarget;
  apps?: BackupApp[];
  /** duplicity's --time: "2026-11-20T10:00:00Z", "3D" (three days ago) …; latest when unset. */
  time?: string;
}

export interface AppRestore {
  domain: string;
  app: string;
  pushedBytes: number;
  /** Null when there was nothing to restore (certificates never issued). */
  restoredTo: string | null;
  /** Where the data that was live before the restore is kept, if there was any. */
  previousKeptAt: string | null;
}

export interface RestoreDeploymentResult {
  host: string;
  apps: AppRestore[];
}

export async function restoreDeployment(input: RestoreDeploymentInput): Promise<RestoreDeploymentResult> {
  const steps = (u: { domain: string; app: string }) => ({
    push: `${u.domain} ${u.app}: make sure the host has the archive`,
    restore: `${u.domain} ${u.app}: restore${input.time ? ` as of ${input.time}` : ''} and swap in`,
  });
  const { progress, plan } = await startBackupOperation('restore', input, (u) => Object.values(steps(u)));

  const apps: AppRestore[] = [];
  for (const unit of plan.units) {
    const s = steps(unit);
    const pushed = await progress.step(s.push, () => backupTransfers.pushArchive(plan.host, unit));
    const restored = await progress.step(s.restore, () => backupTransfers.restoreApp(plan, unit, input.time));
    if (restored.restored === null) progress.skip(s.restore, 'no backup (certificates never issued)');
    apps.push({
      domain: unit.domain,
      app: unit.app,
      pushedBytes: pushed.bytesTransferred,
      restoredTo: restored.restored,
      previousKeptAt: restored.replacedKeptAt,
    });
  }
  progress.finish();
  return { host: hostPort(plan.host.ssh), apps };
}
