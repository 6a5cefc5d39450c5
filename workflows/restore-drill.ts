import { ApplicationFailure, proxyActivities, type RetryPolicy } from '@temporalio/workflow';
import type { SswActivities } from '../activities';
import type { DrillResult } from '../activities/duplicity';
import type { BackupApp } from '../common/backup/plan';
import { FailureType, NON_RETRYABLE_FAILURE_TYPES } from '../common/failure-types';
import { certOperationTarget, type CertTarget } from '../common/tls/plan';
import { waitForTurn, WAIT_STEP } from './exclusive';
import { Progress } from './progress';

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

const retry: RetryPolicy = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 6, nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES };
const quick = proxyActivities<SswActivities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '30s', retry });
const long = proxyActivities<SswActivities>({ startToCloseTimeout: '12 hours', heartbeatTimeout: '20s', retry });

export async function restoreDrill(input: RestoreDrillInput): Promise<RestoreDrillResult> {
  const STEPS = { plan: 'Read the sites and apps from the config', ssh: 'Reach the www host with the pinned host key', duplicity: 'Make sure duplicity is installed' };
  const progress = Progress.start('backup-verify', certOperationTarget(input.target), [WAIT_STEP, ...Object.values(STEPS)]);
  await waitForTurn(progress, certOperationTarget(input.target));
  const plan = await progress.step(STEPS.plan, () => quick.planBackup(input.target, { apps: input.apps }));
  const step = (u: { domain: string; app: string }) => `${u.domain} ${u.app}: restore the latest backup into scratch and verify it`;
  progress.addSteps(plan.units.map(step));
  await progress.step(STEPS.ssh, () => quick.sshCheck(plan.host.ssh));
  await progress.step(STEPS.duplicity, () => long.ensureDuplicity(plan.host.ssh));

  const apps: DrillResult[] = [];
  for (const unit of plan.units) {
    const r = await progress.step(step(unit), () => long.drillApp(plan, unit));
    if (!r.ok) progress.detail(step(unit), `FAILED: ${r.error ?? ''}`);
    apps.push(r);
  }
  const failed = apps.filter((a) => !a.ok);
  if (failed.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `The backups of ${failed.map((a) => `${a.app} of ${a.domain}`).join(', ')} do not restore: ${failed.map((a) => a.error).join('; ')}`,
      FailureType.DrillFailed,
      { host: `${plan.host.ssh.host}:${plan.host.ssh.port}`, apps },
    );
  }
  progress.finish();
  return { host: `${plan.host.ssh.host}:${plan.host.ssh.port}`, apps };
}
