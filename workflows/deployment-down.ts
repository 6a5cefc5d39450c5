import { executeChild, ParentClosePolicy, patched, workflowInfo } from '@temporalio/workflow';
import type { InstanceRole } from '../common/deployment/desired';
import { deploymentSteps as quick, deploymentTeardown as slow } from './activity-options';
import { refuseUnconfirmedProduction } from './production-guard';
import { waitForTurn, WAIT_STEP } from './exclusive';
import { backupDeployment } from './backup-deployment';
import { Progress } from './progress';

/**
 * deploymentDown (`ssw down --deployment D`), as ss-down. Runbook:
 *   1. Production guard: a remote named *prod* needs --yes, given up front.
 *   2. Read the config and what exists on the remote.
 *   3. On a running www instance: back up its apps (child workflow
 *      backupDeployment; not with --skip-wwwbackup), then stop and remove
 *      every stack, so databases shut down cleanly before the instance goes.
 *   4. Every instance the config deploys (not --skip-*), in parallel: stop
 *      and delete it and its profile; forget its host key and record here.
 *      Its volumes stay, unless --purge (confirmed before the run started),
 *      which deletes exactly this deployment's volumes of that instance.
 *   5. The deployment's network, once no instance uses it.
 *   6. With --purge: the deployment's LXD project, once it holds nothing.
 */
export interface DeploymentDownInput {
  remote: string;
  deployment: string;
  skip?: Partial<Record<InstanceRole, boolean>>;
  purge?: boolean;
  confirmed?: boolean;
  /** --skip-wwwbackup: no backup of the www apps before they go. */
  skipBackup?: boolean;
}

export interface DeploymentDownResult {
  removed: string[];
  /** Whether the www apps were backed up first, and the stacks removed. */
  backup: 'done' | 'skipped';
  stacksRemoved: string[];
  volumesDeleted: string[];
  volumesKept: string[];
  networkRemoved: boolean;
  /** --purge: whether the deployment's LXD project was deleted; what keeps it otherwise. */
  project?: { deleted: boolean; holds: string[] };
}

export async function deploymentDown(input: DeploymentDownInput): Promise<DeploymentDownResult> {
  const target = { remote: input.remote, deployment: input.deployment };
  const STEPS = {
    guard: 'Production guard',
    plan: 'Read the config and the remote',
    network: 'Deployment network (once unused)',
  };
  const progress = Progress.start('down', target, [STEPS.guard, WAIT_STEP, STEPS.plan]);
  await progress.step(STEPS.guard, () => refuseUnconfirmedProduction(input, 'down'));
  await waitForTurn(progress, target);
  const { desired, plan } = await progress.step(STEPS.plan, () =>
    quick.planDeployment({ ...target, ...(input.skip ? { skip: input.skip } : {}) }),
  );
  const exists = (kind: string, name: string) =>
    plan.items.some((x) => x.kind === kind && x.name === name && x.action !== 'create');

  const S = { backup: 'www: back up the apps', stacks: 'www: stop and remove every stack' };
  progress.addSteps(Object.values(S));
  const www = desired.instances.find((i) => i.role === 'www');
  // Stacks read from a running www instance; none when it is gone, stopped, or was never reached.
  const running = plan.items.filter(
    (x) => x.kind === 'stack' && x.role !== 'btcpayserver' && x.action !== 'create' && !x.unread,
  );
  let backup: DeploymentDownResult['backup'] = 'skipped';
  let stacksRemoved: string[] = [];
  if (!www || running.length === 0) {
    const why = !www ? 'www is not deployed here' : 'no stack runs on the www instance';
    progress.skip(S.backup, why);
    progress.skip(S.stacks, why);
  } else {
    if (input.skipBackup) progress.skip(S.backup, 'not asked (--skip-wwwbackup)');
    else {
      const target = { kind: 'deployment' as const, remote: input.remote, deployment: input.deployment };
      await progress.step(S.backup, () =>
        executeChild(backupDeployment, {
          workflowId: `${workflowInfo().workflowId}/backup`,
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          args: [{ target }],
        }),
      );
      backup = 'done';
    }
    stacksRemoved = (await progress.step(S.stacks, () => slow.removeStacks(input.remote, input.deployment, 'all')))
      .removed;
  }

  // BTCPay's stacks stop before their instance goes (the node flushes its chain state; the data stays).
  // patched: runs recorded before BTCPay ran on the instance replay without this step.
  const btcpayRunning = plan.items.filter(
    (x) => x.kind === 'stack' && x.role === 'btcpayserver' && x.action !== 'create' && !x.unread,
  );
  if (btcpayRunning.length && patched('btcpay-stacks-down')) {
    const step = 'btcpayserver: stop and remove the BTCPay stacks';
    progress.addSteps([step]);
    const r = await progress.step(step, () =>
      slow.removeStacks(input.remote, input.deployment, { stacks: btcpayRunning.map((x) => x.name) }, 'btcpayserver'),
    );
    stacksRemoved = [...stacksRemoved, ...r.removed];
  }

  // Per instance, in parallel; results are reported in config order, whatever finished first.
  const perInstance = await Promise.all(
    desired.instances.map(async (i) => {
      const out = { removed: [] as string[], deleted: [] as string[], kept: [] as string[] };
      const step = `${i.role}: stop and delete ${i.name} and its profile`;
      progress.addSteps([step]);
      if (!exists('instance', i.name) && !exists('profile', i.name)) progress.skip(step, 'not there');
      else {
        await progress.step(step, () => slow.removeInstance(input.remote, input.deployment, i.name, i.role));
        out.removed.push(i.name);
      }
      const volumes = i.volumes.map((v) => v.name).filter((v) => exists('volume', v));
      if (!input.purge) {
        out.kept.push(...volumes);
        return out;
      }
      const purge = `${i.role}: delete volumes (--purge)`;
      progress.addSteps([purge]);
      if (!volumes.length) progress.skip(purge, 'none left');
      else
        out.deleted.push(
          ...(await progress.step(purge, () => quick.deleteVolumes(input.remote, input.deployment, volumes))).deleted,
        );
      return out;
    }),
  );
  const removed = perInstance.flatMap((x) => x.removed);
  const volumesDeleted = perInstance.flatMap((x) => x.deleted);
  const volumesKept = perInstance.flatMap((x) => x.kept);
  progress.addSteps([STEPS.network]);
  const net = await progress.step(STEPS.network, () => quick.removeNetworkIfUnused(input.remote, desired.network));
  if (!net.removed)
    progress.detail(STEPS.network, net.usedBy.length ? `kept: used by ${net.usedBy.join(', ')}` : 'not there');
  let project: DeploymentDownResult['project'];
  // patched: runs recorded before this step existed replay without it.
  if (input.purge && patched('down-purge-deletes-project')) {
    const step = 'Deployment project (--purge, once empty)';
    progress.addSteps([step]);
    project = await progress.step(step, () => quick.deleteProjectIfEmpty(input.remote, desired.project.name));
    if (!project.deleted)
      progress.detail(step, project.holds.length ? `kept: it holds ${project.holds.join(', ')}` : 'not there');
  }
  progress.finish();
  return {
    removed,
    backup,
    stacksRemoved,
    volumesDeleted,
    volumesKept,
    networkRemoved: net.removed,
    ...(project ? { project } : {}),
  };
}
