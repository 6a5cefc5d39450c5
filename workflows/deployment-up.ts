import { ApplicationFailure, proxyActivities, type RetryPolicy } from '@temporalio/workflow';
import type { SswActivities } from '../activities';
import type { DesiredInstance, InstanceRole } from '../common/deployment/desired';
import type { PlanItem } from '../common/deployment/plan';
import { FailureType, NON_RETRYABLE_FAILURE_TYPES } from '../common/failure-types';
import { waitForTurn, WAIT_STEP } from './exclusive';
import { Progress } from './progress';

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
}

export interface DeploymentUpResult {
  changes: PlanItem[];
  instances: { role: InstanceRole; name: string; address: string; hostKeyFingerprint: string }[];
  removed: string[];
}

const retry: RetryPolicy = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8, nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES };
const quick = proxyActivities<SswActivities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '20s', retry });
// Creating an instance copies the image; waits for an address or SSH poll for minutes. All heartbeat every 3 s.
const slow = proxyActivities<SswActivities>({ startToCloseTimeout: '40 minutes', heartbeatTimeout: '20s', retry });
const image = proxyActivities<SswActivities>({ startToCloseTimeout: '3 hours', heartbeatTimeout: '30s', retry });

export function isProductionRemote(remote: string): boolean {
  return remote.toLowerCase().includes('prod');
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

  await progress.step(STEPS.guard, async () => {
    if (isProductionRemote(input.remote) && !input.confirmed) {
      throw ApplicationFailure.nonRetryable(`Remote ${input.remote} is a production remote: run "ssw up" with --yes to change it.`, FailureType.Validation);
    }
  });
  await waitForTurn(progress, target);

  const { desired, plan } = await progress.step(STEPS.plan, () => quick.planDeployment({ ...target, ...(input.skip ? { skip: input.skip } : {}) }));
  const changes = plan.items.filter((x) => x.action !== 'keep');
  progress.detail(STEPS.plan, changes.length ? `${changes.length} change(s)` : 'no changes');
  if (plan.conflicts.length) {
    throw ApplicationFailure.nonRetryable(`The deployment cannot be brought to the config:\n- ${plan.conflicts.join('\n- ')}`, FailureType.Config);
  }
  const action = (kind: PlanItem['kind'], name: string) => plan.items.find((x) => x.kind === kind && x.name === name)?.action ?? 'keep';
  for (const i of desired.instances) progress.addSteps(Object.values(instanceSteps(i)));

  if (action('project', desired.project.name) === 'keep') progress.skip(STEPS.project, 'exists');
  else await progress.step(STEPS.project, () => quick.ensureProject(input.remote, desired.project));

  if (action('network', desired.network.name) === 'keep') progress.skip(STEPS.network, `${desired.network.name} exists`);
  else await progress.step(STEPS.network, () => quick.ensureNetwork(input.remote, desired.network));

  if (action('image', desired.baseImage.alias) === 'create') {
    await progress.step(STEPS.image, () => image.ensureBaseImage(input.remote, desired.baseImage, desired.instances[0]!.type));
  } else progress.skip(STEPS.image, `${desired.baseImage.alias}: no instance to create from it, or it exists`);

  // Every instance at once: each waits only for itself (ss made them one after another).
  const bringUp = async (i: DesiredInstance) => {
    const s = instanceSteps(i);
    const project = desired.project.name;
    if (action('profile', i.name) === 'keep') progress.skip(s.profile, 'unchanged');
    else await progress.step(s.profile, () => quick.ensureProfile(input.remote, project, i));
    const volumeChanges = i.volumes.filter((v) => action('volume', v.name) !== 'keep');
    if (volumeChanges.length) await progress.step(s.volumes, () => quick.ensureVolumes(input.remote, project, volumeChanges));
    else progress.skip(s.volumes, i.volumes.length ? 'unchanged' : 'none for this instance');
    if (action('instance', i.name) === 'keep') progress.skip(s.instance, 'running');
    else await progress.step(s.instance, () => slow.ensureInstance(input.remote, project, i, desired.baseImage.alias));
    // Reachability is checked on every run: cheap, and what `ssw cert`/`ssw backup` rely on.
    const { address } = await progress.step(s.address, () => slow.waitForInstanceAddress(input.remote, project, i.name));
    progress.detail(s.address, address);
    await progress.step(s.key, () => quick.authorizeOperatorKey(input.remote, project, i.name, desired.sshPublicKey));
    const { fingerprint } = await progress.step(s.hostKey, () => slow.pinInstanceHostKey(input.remote, project, i.name, address));
    await progress.step(s.ssh, () => slow.waitForInstanceSsh(input.remote, address));
    await progress.step(s.data, () => quick.prepareDataPaths(input.remote, address, i.role));
    const ready = { role: i.role, name: i.name, address, hostKeyFingerprint: fingerprint };
    await progress.step(s.record, () => quick.recordInstance(input.remote, input.deployment, { ...ready, macAddress: i.macAddress }));
    return ready;
  };
  const instances: DeploymentUpResult['instances'] = [];
  if (input.sequential) for (const i of desired.instances) instances.push(await bringUp(i));
  else instances.push(...(await Promise.all(desired.instances.map(bringUp))));

  const removed: string[] = [];
  for (const stale of plan.items.filter((x) => x.kind === 'instance' && x.action === 'delete')) {
    await progress.step(`Remove ${stale.name} (not in the config; volumes kept)`, () => slow.removeInstance(input.remote, input.deployment, stale.name, stale.role));
    removed.push(stale.name);
  }
  for (const stale of plan.items.filter((x) => x.kind === 'profile' && x.action === 'delete' && !removed.includes(x.name))) {
    await progress.step(`Remove profile ${stale.name}`, () => quick.removeInstance(input.remote, input.deployment, stale.name, undefined));
  }

  progress.finish();
  return { changes, instances, removed };
}
