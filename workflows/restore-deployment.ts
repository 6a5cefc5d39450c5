import { proxyActivities, type RetryPolicy } from '@temporalio/workflow';
import type { SswActivities } from '../activities';
import type { BackupApp } from '../common/backup/plan';
import { NON_RETRYABLE_FAILURE_TYPES } from '../common/failure-types';
import { certOperationTarget, type CertTarget } from '../common/tls/plan';
import { waitForTurn, WAIT_STEP } from './exclusive';
import { Progress } from './progress';

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

const retry: RetryPolicy = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 6, nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES };
const quick = proxyActivities<SswActivities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '30s', retry });
const long = proxyActivities<SswActivities>({ startToCloseTimeout: '12 hours', heartbeatTimeout: '20s', retry });

export async function restoreDeployment(input: RestoreDeploymentInput): Promise<RestoreDeploymentResult> {
  const STEPS = { plan: 'Read the sites and apps from the config', ssh: 'Reach the www host with the pinned host key', duplicity: 'Make sure duplicity is installed' };
  const progress = Progress.start('restore', certOperationTarget(input.target), [WAIT_STEP, ...Object.values(STEPS)]);
  await waitForTurn(progress, certOperationTarget(input.target));
  const plan = await progress.step(STEPS.plan, () => quick.planBackup(input.target, { apps: input.apps }));
  const steps = (u: { domain: string; app: string }) => ({
    push: `${u.domain} ${u.app}: make sure the host has the archive`,
    restore: `${u.domain} ${u.app}: restore${input.time ? ` as of ${input.time}` : ''} and swap in`,
  });
  progress.addSteps(plan.units.flatMap((u) => Object.values(steps(u))));
  await progress.step(STEPS.ssh, () => quick.sshCheck(plan.host.ssh));
  await progress.step(STEPS.duplicity, () => long.ensureDuplicity(plan.host.ssh));

  const apps: AppRestore[] = [];
  for (const unit of plan.units) {
    const s = steps(unit);
    const pushed = await progress.step(s.push, () => long.pushArchive(plan.host, unit));
    const restored = await progress.step(s.restore, () => long.restoreApp(plan, unit, input.time));
    if (restored.restored === null) progress.skip(s.restore, 'no backup (certificates never issued)');
    apps.push({ domain: unit.domain, app: unit.app, pushedBytes: pushed.bytesTransferred, restoredTo: restored.restored, previousKeptAt: restored.replacedKeptAt });
  }
  progress.finish();
  return { host: `${plan.host.ssh.host}:${plan.host.ssh.port}`, apps };
}
