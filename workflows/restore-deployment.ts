import type { BackupApp } from '../common/backup/plan';
import type { CertTarget } from '../common/tls/plan';
import { hostPort } from '../common/host-port';
import { patched } from '@temporalio/workflow';
import { backupTransfers, deploymentSteps as quick, stacks } from './activity-options';
import { startBackupOperation } from './www-host';

/**
 * restoreDeployment (`ssw restore`): put apps' data back from their backups.
 * Runbook, per app of each site:
 *   1. Push the archive files the host lacks from this machine (a rebuilt
 *      host has none); resumed, identical files skipped.
 *   2. On a deployment's www instance, stop the app (remove its stacks; the
 *      data stays): a database must not run while its files are swapped.
 *   3. duplicity restore (latest, or as of --time) into a fresh directory
 *      beside the live data, then swap it in; the live data is renamed aside,
 *      never deleted, and only once the restored copy is complete.
 * Then the stopped apps start again on the restored data.
 * `up --restore-wwwserver` stops the apps itself and starts them after (appsStopped).
 * Finished apps are not redone when the worker dies midway: each is a step
 * of its own in the history.
 */
export interface RestoreDeploymentInput {
  target: CertTarget;
  apps?: BackupApp[];
  /** duplicity's --time: "2026-11-20T10:00:00Z", "3D" (three days ago) …; latest when unset. */
  time?: string;
  /** The caller stopped the apps and starts them again (`up --restore-wwwserver`). */
  appsStopped?: boolean;
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
  const { target } = input;
  // Runs started before apps were stopped around the swap replay without these steps.
  const stopApps = target.kind === 'deployment' && !input.appsStopped && patched('restore-stops-apps');
  const steps = (u: { domain: string; app: string }) => ({
    push: `${u.domain} ${u.app}: make sure the host has the archive`,
    ...(stopApps ? { stop: `${u.domain} ${u.app}: stop the app (its stacks; the data stays)` } : {}),
    restore: `${u.domain} ${u.app}: restore${input.time ? ` as of ${input.time}` : ''} and swap in`,
  });
  const START = 'Start the stopped apps again on the restored data';
  const { progress, plan } = await startBackupOperation('restore', input, (u) => Object.values(steps(u)));
  if (stopApps) progress.addSteps([START]);

  const apps: AppRestore[] = [];
  let stopped = 0;
  for (const unit of plan.units) {
    const s = steps(unit);
    const pushed = await progress.step(s.push, () => backupTransfers.pushArchive(plan.host, unit));
    if (s.stop && target.kind === 'deployment') {
      const r = await progress.step(s.stop, () => quick.stopAppStacks(target.remote, target.deployment, unit));
      if (r.removed.length === 0) progress.skip(s.stop, 'not running');
      stopped += r.removed.length;
    }
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
  if (stopApps && target.kind === 'deployment') {
    if (stopped === 0) progress.skip(START, 'none was running');
    else await progress.step(START, () => stacks.deployStacks(target.remote, target.deployment, 'apps'));
  }
  progress.finish();
  return { host: hostPort(plan.host.ssh), apps };
}
