import { ApplicationFailure, executeChild, ParentClosePolicy, workflowInfo } from '@temporalio/workflow';
import type { StackApplyResult } from '../activities/docker/stacks';
import type { DesiredInstance, InstanceRole } from '../common/deployment/desired';
import type { PlanItem } from '../common/deployment/plan';
import { FailureType } from '../common/failure-types';
import { refuseUnconfirmedProduction } from './production-guard';
import { baseImage as image, deploymentSteps as quick, instanceSetup as slow, stacks } from './activity-options';
import { waitForTurn, WAIT_STEP } from './exclusive';
import { backupDeployment } from './backup-deployment';
import { Progress } from './progress';
import { renewCertificates } from './renew-certificates';
import { restoreCertificates } from './restore-certificates';
import { restoreDeployment } from './restore-deployment';

/**
 * deploymentUp (`ssw up --deployment D`): the LXD side of a deployment, as
 * ss-up builds it, from nothing or from whatever exists. Runbook:
 *   1. Production guard: a remote named *prod* needs --yes, given up front.
 *   2. Read the config and what exists on the remote; plan. A conflict no
 *      change can fix stops here, before anything changes.
 *   3. The LXD project D, then the deployment's network (OVN as ss, or a
 *      managed bridge).
 *   4. ss's weekly base image, when an instance is to be created from it.
 *   5. Every instance (www, btcpayserver, ... whose MAC is set and not
 *      --skip-*), in parallel: profile, volumes (grow only), the instance,
 *      start, an IPv4 address, the operator's key, its host key pinned
 *      through the LXD API, SSH, data paths, and its record on this machine.
 *   6. Instances the config no longer has are removed (their volumes stay).
 *   7. The www instance's services (ss's www/go.sh):
 *      a. --restore-wwwserver: the app stacks stopped, their data restored
 *         from the latest backup (child workflow restoreDeployment);
 *      b. certificates: --restore-certs puts the saved ones back, then
 *         certbot obtains or renews what is due (child workflows; renewal
 *         skipped by --no-cert-renew);
 *      c. the reverse proxy, then every app stack (images, files, containers
 *         reconciled, each waited running and healthy);
 *      d. stacks whose site or app left the config are removed;
 *      e. every site answers through the proxy;
 *      f. a backup of the apps when a stack changed (not on the first up:
 *         there is nothing to keep yet; not with --skip-wwwbackup).
 * Every step checks before it changes, so a re-run changes nothing and a
 * run resumed after a crash finishes what the first one started.
 */
export interface DeploymentUpInput {
  remote: string;
  deployment: string;
  skip?: Partial<Record<InstanceRole, boolean>>;
  /** --yes: required up front for a production remote (no prompt mid-workflow). */
  confirmed?: boolean;
  /** Bring instances up one after another, as ss did (for comparison in benchmarks). */
  sequential?: boolean;
  /** --no-cert-renew: keep the certificates the www instance has. */
  noCertRenew?: boolean;
  /** --restore-certs: put the certificates saved on this machine back first. */
  restoreCerts?: boolean;
  /** --restore-wwwserver: restore the apps' data from the latest backup before starting them. */
  restoreWww?: boolean;
  /** --skip-wwwbackup: no backup after the deploy. */
  skipBackup?: boolean;
  /**
   * --instances-only: stop after step 6. For a first deployment whose DNS is
   * set once the instances have their addresses (certificates need it).
   */
  instancesOnly?: boolean;
}

export interface ServicesResult {
  certificates: { domain: string; action: string; detail: string }[];
  stacks: Pick<StackApplyResult, 'stack' | 'created' | 'replaced' | 'started' | 'reloaded' | 'rejoined' | 'removed'>[];
  removedStacks: string[];
  served: string[];
  backup: 'done' | 'skipped';
}

export interface DeploymentUpResult {
  changes: PlanItem[];
  instances: { role: InstanceRole; name: string; address: string; hostKeyFingerprint: string }[];
  removed: string[];
  /** The www instance's services; absent when www is not deployed (--skip-wwwserver, no MAC). */
  services?: ServicesResult;
  /**
   * What the operator should look at, e.g. the host key of an instance this run
   * kept (did not create) that changed since it was pinned; absent when none.
   */
  warnings?: string[];
}

export function instanceSteps(i: Pick<DesiredInstance, 'role'>) {
  const r = i.role;
  return {
    profile: `${r}: profile`,
    volumes: `${r}: storage volumes`,
    instance: `${r}: instance created and started`,
    address: `${r}: IPv4 address`,
    key: `${r}: operator's SSH key`,
    hostKey: `${r}: host key pinned (read through the LXD API)`,
    ssh: `${r}: SSH answers`,
    data: `${r}: data paths`,
    record: `${r}: recorded on this machine`,
  };
}

export async function deploymentUp(input: DeploymentUpInput): Promise<DeploymentUpResult> {
  const target = { remote: input.remote, deployment: input.deployment };
  const STEPS = {
    guard: 'Production guard',
    plan: 'Read the config and the remote; plan',
    project: `LXD project ${input.deployment}`,
    network: 'Deployment network',
    image: 'Base image',
  };
  const progress = Progress.start('up', target, [STEPS.guard, WAIT_STEP, ...Object.values(STEPS).slice(1)]);

  await progress.step(STEPS.guard, () => refuseUnconfirmedProduction(input, 'up'));
  await waitForTurn(progress, target);

  const { desired, plan } = await progress.step(STEPS.plan, () =>
    quick.planDeployment({
      ...target,
      ...(input.skip ? { skip: input.skip } : {}),
      ...(input.instancesOnly ? { instancesOnly: true } : {}),
    }),
  );
  const changes = plan.items.filter((x) => x.action !== 'keep');
  progress.detail(STEPS.plan, changes.length ? `${changes.length} change(s)` : 'no changes');
  if (plan.conflicts.length) {
    throw ApplicationFailure.nonRetryable(
      `The deployment cannot be brought to the config:\n- ${plan.conflicts.join('\n- ')}`,
      FailureType.Config,
    );
  }
  const action = (kind: PlanItem['kind'], name: string) =>
    plan.items.find((x) => x.kind === kind && x.name === name)?.action ?? 'keep';
  for (const i of desired.instances) progress.addSteps(Object.values(instanceSteps(i)));

  if (action('project', desired.project.name) === 'keep') progress.skip(STEPS.project, 'exists');
  else await progress.step(STEPS.project, () => quick.ensureProject(input.remote, desired.project));

  if (action('network', desired.network.name) === 'keep')
    progress.skip(STEPS.network, `${desired.network.name} exists`);
  else await progress.step(STEPS.network, () => quick.ensureNetwork(input.remote, desired.network));

  // create: a new week's image; change: one whose build left its builder behind (the step deletes it).
  if (action('image', desired.baseImage.alias) !== 'keep') {
    await progress.step(STEPS.image, () =>
      image.ensureBaseImage(input.remote, desired.baseImage, desired.instances[0]!.type),
    );
  } else progress.skip(STEPS.image, `${desired.baseImage.alias}: no instance to create from it, or it exists`);

  const warnings: string[] = [];
  // Every instance at once: each waits only for itself (ss made them one after another).
  const bringUp = async (i: DesiredInstance) => {
    const s = instanceSteps(i);
    const project = desired.project.name;
    if (action('profile', i.name) === 'keep') progress.skip(s.profile, 'unchanged');
    else await progress.step(s.profile, () => quick.ensureProfile(input.remote, project, i));
    const volumeChanges = i.volumes.filter((v) => action('volume', v.name) !== 'keep');
    if (volumeChanges.length)
      await progress.step(s.volumes, () => quick.ensureVolumes(input.remote, project, volumeChanges));
    else progress.skip(s.volumes, i.volumes.length ? 'unchanged' : 'none for this instance');
    let createdNow = false;
    if (action('instance', i.name) === 'keep') progress.skip(s.instance, 'running');
    else
      createdNow = (
        await progress.step(s.instance, () => slow.ensureInstance(input.remote, project, i, desired.baseImage.alias))
      ).created;
    // Reachability is checked on every run: cheap, and what `ssw cert`/`ssw backup` rely on.
    const { address } = await progress.step(s.address, () =>
      slow.waitForInstanceAddress(input.remote, project, i.name),
    );
    progress.detail(s.address, address);
    await progress.step(s.key, () => quick.authorizeOperatorKey(input.remote, project, i.name, desired.sshPublicKey));
    const pin = await progress.step(s.hostKey, () => slow.pinInstanceHostKey(input.remote, project, i.name, address));
    const { fingerprint } = pin;
    // A new instance brings a new key. A kept one should not: its key changed behind ssw's back
    // (regenerated, or the instance swapped), so re-pinning it is said out loud.
    if (pin.replaced && !createdNow) {
      const warning = `${i.role} instance ${i.name} (${address}) was kept, but its SSH host key changed: was ${pin.previousFingerprint ?? 'another key'}, now ${fingerprint} (read through the LXD API and pinned). If nobody regenerated it, find out who changed the instance.`;
      warnings.push(warning);
      progress.detail(s.hostKey, warning);
    }
    await progress.step(s.ssh, () => slow.waitForInstanceSsh(input.remote, address));
    await progress.step(s.data, () => quick.prepareDataPaths(input.remote, address, i.role));
    const ready = { role: i.role, name: i.name, address, hostKeyFingerprint: fingerprint };
    await progress.step(s.record, () =>
      quick.recordInstance(input.remote, input.deployment, { ...ready, macAddress: i.macAddress }),
    );
    return ready;
  };
  const instances: DeploymentUpResult['instances'] = [];
  if (input.sequential) for (const i of desired.instances) instances.push(await bringUp(i));
  else instances.push(...(await Promise.all(desired.instances.map(bringUp))));

  const removed: string[] = [];
  for (const stale of plan.items.filter((x) => x.kind === 'instance' && x.action === 'delete')) {
    await progress.step(`Remove ${stale.name} (not in the config; volumes kept)`, () =>
      slow.removeInstance(input.remote, input.deployment, stale.name, stale.role),
    );
    removed.push(stale.name);
  }
  for (const stale of plan.items.filter(
    (x) => x.kind === 'profile' && x.action === 'delete' && !removed.includes(x.name),
  )) {
    await progress.step(`Remove profile ${stale.name}`, () =>
      quick.removeInstance(input.remote, input.deployment, stale.name, undefined),
    );
  }

  const www = desired.instances.find((i) => i.role === 'www');
  const services = www && !input.instancesOnly ? await deployServices(input, progress, plan.items, www) : undefined;

  progress.finish();
  return { changes, instances, removed, ...(services ? { services } : {}), ...(warnings.length ? { warnings } : {}) };
}

export const SERVICE_STEPS = {
  restoreWww: 'www: stop the apps and restore their data from the latest backup',
  restoreCerts: 'Certificates: restore the ones saved on this machine',
  certs: 'Certificates: obtain or renew what is due',
  proxy: 'Reverse proxy',
  apps: 'App stacks',
  stale: 'Remove stacks no longer in the config',
  served: 'Every site answers through the proxy',
  backup: 'Back up the www apps',
};

/** "stack: created a, b; reloaded c", or "stack: unchanged". */
function stackSummary(r: StackApplyResult): string {
  const { created, replaced, started, reloaded, rejoined, removed } = r;
  const parts = Object.entries({ created, replaced, started, reloaded, rejoined, removed })
    .filter(([, v]) => v.length)
    .map(([k, v]) => `${k} ${v.join(', ')}`);
  return `${r.stack}: ${parts.length ? parts.join('; ') : 'unchanged'}`;
}

/** Step 7: the www instance's services, top to bottom. Children share this run's turn (see waitForTurn). */
async function deployServices(
  input: DeploymentUpInput,
  progress: Progress,
  items: PlanItem[],
  www: DesiredInstance,
): Promise<ServicesResult> {
  const S = SERVICE_STEPS;
  const target = { kind: 'deployment' as const, remote: input.remote, deployment: input.deployment };
  const child = (name: string) => ({
    workflowId: `${workflowInfo().workflowId}/${name}`,
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
  });
  progress.addSteps(Object.values(S));
  const stackItems = items.filter((x) => x.kind === 'stack');

  if (!input.restoreWww) progress.skip(S.restoreWww, 'not asked (--restore-wwwserver)');
  else {
    await progress.step(S.restoreWww, async () => {
      // Databases must not run while their files are swapped: the apps go first, and come back in step c.
      const apps = stackItems.filter((x) => x.name !== 'reverse-proxy' && x.action !== 'create').map((x) => x.name);
      if (apps.length) await quick.removeStacks(input.remote, input.deployment, { stacks: apps });
      await executeChild(restoreDeployment, { ...child('restore'), args: [{ target, appsStopped: true }] });
    });
  }

  const certificates: ServicesResult['certificates'] = [];
  if (!input.restoreCerts) progress.skip(S.restoreCerts, 'not asked (--restore-certs)');
  else {
    const r = await progress.step(S.restoreCerts, () =>
      executeChild(restoreCertificates, { ...child('cert-restore'), args: [{ target }] }),
    );
    progress.detail(S.restoreCerts, r.sites.map((x) => `${x.domain}: ${x.action}`).join(', '));
    certificates.push(...r.sites.map((x) => ({ domain: x.domain, action: x.action, detail: x.detail })));
  }
  if (input.noCertRenew) progress.skip(S.certs, 'not asked (--no-cert-renew)');
  else {
    const r = await progress.step(S.certs, () =>
      executeChild(renewCertificates, { ...child('cert-renew'), args: [{ target }] }),
    );
    progress.detail(S.certs, r.sites.map((x) => `${x.domain}: ${x.action} (${x.reason})`).join(', '));
    certificates.push(...r.sites.map((x) => ({ domain: x.domain, action: x.action, detail: x.detail })));
  }

  const applied: ServicesResult['stacks'] = [];
  for (const which of ['proxy', 'apps'] as const) {
    const step = which === 'proxy' ? S.proxy : S.apps;
    const r = await progress.step(step, () => stacks.deployStacks(input.remote, input.deployment, which));
    applied.push(
      ...r.stacks.map(({ stack, created, replaced, started, reloaded, rejoined, removed }) => ({
        stack,
        created,
        replaced,
        started,
        reloaded,
        rejoined,
        removed,
      })),
    );
    progress.detail(step, r.stacks.length ? r.stacks.map(stackSummary).join(' | ') : 'no app is configured');
  }

  const stale = stackItems.filter((x) => x.action === 'delete').map((x) => x.name);
  if (!stale.length) progress.skip(S.stale, 'none');
  else await progress.step(S.stale, () => quick.removeStacks(input.remote, input.deployment, { stacks: stale }));

  const served = await progress.step(S.served, () => quick.checkSitesServed(input.remote, input.deployment));

  // A backup right after a change is the point to roll back to; with nothing changed, the nightly schedule has it.
  const ssData = www.volumes.find((v) => v.name.endsWith('-ss-data'));
  const firstUp =
    ssData !== undefined && items.some((x) => x.kind === 'volume' && x.name === ssData.name && x.action === 'create');
  const changed =
    applied.some(
      (x) =>
        x.created.length +
          x.replaced.length +
          x.started.length +
          x.reloaded.length +
          x.rejoined.length +
          x.removed.length >
        0,
    ) || stale.length > 0;
  let backup: ServicesResult['backup'] = 'skipped';
  if (input.skipBackup) progress.skip(S.backup, 'not asked (--skip-wwwbackup)');
  else if (firstUp) progress.skip(S.backup, 'first up: no data to keep yet');
  else if (!changed) progress.skip(S.backup, 'no stack changed');
  else {
    await progress.step(S.backup, () => executeChild(backupDeployment, { ...child('backup'), args: [{ target }] }));
    backup = 'done';
  }
  return { certificates, stacks: applied, removedStacks: stale, served: served.map((x) => x.name), backup };
}
