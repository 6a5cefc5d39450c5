import { ApplicationFailure } from '@temporalio/workflow';
import type { DrillResult } from '../activities/duplicity';
import type { BackupApp } from '../common/backup/plan';
import { FailureType } from '../common/failure-types';
import type { CertTarget } from '../common/tls/plan';
import { hostPort } from '../common/host-port';
import { backupTransfers } from './activity-options';
import { startBackupOperation } from './www-host';

/**
 * restoreDrill (`ssw backup verify`): prove the backups restore, without
 * touching live data. Per app of each site: the latest backup is restored into
 * a scratch directory on the host, `duplicity verify --compare-data` checks
 * every volume and file against it, the entries are counted against the
 * backup's own listing, and the result is recorded here. The run fails when
 * any app's backup does not restore, so a scheduled drill pauses its schedule
 * and the operator sees it. The age of the newest verified backup is the real
 * recovery point.
 */
export interface RestoreDrillInput {
  target: CertTarget;
  apps?: BackupApp[];
}

export interface RestoreDrillResult {
  host: string;
  apps: DrillResult[];
}

export async function restoreDrill(input: RestoreDrillInput): Promise<RestoreDrillResult> {
  const step = (u: { domain: string; app: string }) =>
    `${u.domain} ${u.app}: restore the latest backup into scratch and verify it`;
  const { progress, plan } = await startBackupOperation('backup-verify', input, (u) => [step(u)]);

  const apps: DrillResult[] = [];
  for (const unit of plan.units) {
    const r = await progress.step(step(unit), () => backupTransfers.drillApp(plan, unit));
    if (!r.ok) progress.detail(step(unit), `FAILED: ${r.error ?? ''}`);
    apps.push(r);
  }
  const failed = apps.filter((a) => !a.ok);
  if (failed.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `The backups of ${failed.map((a) => `${a.app} of ${a.domain}`).join(', ')} do not restore: ${failed.map((a) => a.error).join('; ')}`,
      FailureType.DrillFailed,
      { host: hostPort(plan.host.ssh), apps },
    );
  }
  progress.finish();
  return { host: hostPort(plan.host.ssh), apps };
}
