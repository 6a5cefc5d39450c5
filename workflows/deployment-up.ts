import {
  ApplicationFailure,
  executeChild,
  ParentClosePolicy,
  patched,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { StackApplyResult } from '../activities/docker/stacks';
import type { DesiredInstance, InstanceRole } from '../common/deployment/desired';
import type { PlanItem } from '../common/deployment/plan';
import { FailureType } from '../common/failure-types';
import { workflowIdFor } from '../common/temporal/operations';
import { BTCPAY_STACKS } from '../common/bitcoin/stacks';
import { refuseUnconfirmedProduction } from './production-guard';
import {
  baseImage as image,
  chainPreload,
  deploymentSteps as quick,
  instanceSetup as slow,
  stacks,
} from './activity-options';
import { waitForTurn, WAIT_STEP } from './exclusive';
import { backupDeployment } from './backup-deployment';
import { chainSyncProgressSignal, chainSyncWait, type ChainSyncWaitResult } from './chain-sync';
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
 *   8. Beside step 7, the btcpayserver instance's BTCPay (ss's btcpayserver/go.sh):
 *      a. BTCPay's secrets generated into the primary site's site.conf when missing;
 *      b. --preload-chain: the node's blocks/ and chainstate/ copied in before
 *         its first start (refused once it has started on its own data);
 *      c. BTCPay's names answer "Syncing, block N of M" (503) until synced;
 *      d. the node, PostgreSQL, NBXplorer, BTCPay Server and Lightning stacks;
 *      e. stacks no longer in the config removed;
 *      f. the chain-sync wait (child chainSyncWait): the node catches up, BTCPay
 *         answers synchronized, the names open; with --no-wait-sync it runs on
 *         as its own workflow (chain-sync/<remote>/<deployment>) and up finishes.
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
  /** --preload-chain FROM: a directory on this machine holding a node's blocks/ and chainstate/. */
  preloadChain?: string;
  /** --no-wait-sync: the chain-sync wait runs on in its own workflow; up does not wait for it. */
  noWaitSync?: boolean;
  /** How often the chain-sync wait reports (seconds; tests make it short). @default 60 */
  syncReportEveryS?: number;
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

export interface BtcpayResult {
  secretsAdded: string[];
  preload?: { files: number; bytes: number; bytesSent: number; skipped: boolean };
  stacks: ServicesResult['stacks'];
  removedStacks: string[];
  /** The chain-sync wait's result; or, with --no-wait-sync, where it runs on. */
  sync: ChainSyncWaitResult | { workflowId: string; waiting: true };
}

export interface DeploymentUpResult {
  changes: PlanItem[];
  instances: { role: InstanceRole; name: string; address: string; hostKeyFingerprint: string }[];
  removed: string[];
  /** The www instance's services; absent when www is not deployed (--skip-wwwserver, no MAC). */
  services?: ServicesResult;
  /** BTCPay on the btcpayserver instance; absent when it is not deployed. */
  btcpay?: BtcpayResult;
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
  // Before anything changes: a node that has run keeps its own chain (the copy would mix two chains' files).
  if (
    input.preloadChain &&
    plan.items.some((x) => x.kind === 'stack' && x.name === BTCPAY_STACKS.bitcoin && x.action !== 'create')
  ) {
    throw ApplicationFailure.nonRetryable(
      `--preload-chain is refused: the Bitcoin node of ${input.deployment} has already started on its own data (its stack ${BTCPAY_STACKS.bitcoin} exists on the btcpayserver instance). A pre-load goes only into a node that has never started; run "ssw up" without it, and the node syncs what it lacks.`,
      FailureType.Config,
    );
  }
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
  const btcpayInstance = desired.instances.find((i) => i.role === 'btcpayserver');
  // patched: runs recorded before BTCPay ran on its instance replay without it.
  const withBtcpay = btcpayInstance !== undefined && !input.instancesOnly && patched('btcpay-services');
  if (input.preloadChain && !withBtcpay) {
    throw ApplicationFailure.nonRetryable(
      '--preload-chain was given, but this up deploys no btcpayserver instance (no BTCPAY_SERVER_MAC_ADDRESS, --skip-btcpayserver or --instances-only): nothing would take the chain.',
      FailureType.Config,
    );
  }
  const [services, btcpay] = await Promise.all([
    www && !input.instancesOnly ? deployServices(input, progress, plan.items, www) : undefined,
    withBtcpay ? deployBtcpay(input, progress, plan.items, www !== undefined) : undefined,
  ]);

  progress.finish();
  return {
    changes,
    instances,
    removed,
    ...(services ? { services } : {}),
    ...(btcpay ? { btcpay } : {}),
    ...(warnings.length ? { warnings } : {}),
  };
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

/** What the result keeps of a stack's reconciliation (not its images or timings). */
function appliedOf(r: StackApplyResult): ServicesResult['stacks'][number] {
  const { stack, created, replaced, started, reloaded, rejoined, removed } = r;
  return { stack, created, replaced, started, reloaded, rejoined, removed };
}

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
  const stackItems = items.filter((x) => x.kind === 'stack' && x.role !== 'btcpayserver');

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
    applied.push(...r.stacks.map(appliedOf));
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

export const BTCPAY_STEPS = {
  secrets: "btcpayserver: BTCPay's secrets in site.conf",
  preload: 'btcpayserver: pre-load the chain (--preload-chain)',
  page: 'www: BTCPay names answer "Syncing" until the node is synced',
  stacks: 'btcpayserver: node, PostgreSQL, NBXplorer, BTCPay Server, Lightning',
  stale: 'btcpayserver: remove stacks no longer in the config',
  sync: 'btcpayserver: chain sync, then BTCPay synchronized (child chain-sync)',
};

/** Step 8: BTCPay on the btcpayserver instance, top to bottom. */
async function deployBtcpay(
  input: DeploymentUpInput,
  progress: Progress,
  items: PlanItem[],
  hasWww: boolean,
): Promise<BtcpayResult> {
  const B = BTCPAY_STEPS;
  const { remote, deployment } = input;
  progress.addSteps(Object.values(B));
  const stackItems = items.filter((x) => x.kind === 'stack' && x.role === 'btcpayserver');

  const { added } = await progress.step(B.secrets, () => quick.ensureBtcpaySecrets(remote, deployment));
  progress.detail(B.secrets, added.length ? `generated ${added.join(', ')}` : 'present');

  let preload: BtcpayResult['preload'];
  if (!input.preloadChain) progress.skip(B.preload, 'not asked (--preload-chain)');
  else {
    const r = await progress.step(B.preload, () => chainPreload.preloadChain(remote, deployment, input.preloadChain!));
    preload = { files: r.files, bytes: r.bytes, bytesSent: r.bytesSent, skipped: r.skipped };
    progress.detail(
      B.preload,
      r.skipped ? 'already pre-loaded' : `${r.files} files, ${r.bytes} bytes (${r.bytesSent} sent)`,
    );
  }

  // Only before the node's first start: a running, synced node's names stay open while up reconciles.
  const firstStart = stackItems.some((x) => x.name === BTCPAY_STACKS.bitcoin && x.action === 'create');
  if (!hasWww) progress.skip(B.page, 'no www instance here');
  else if (!firstStart)
    progress.skip(B.page, 'the node has run before: the wait closes the names only if it is behind');
  else await progress.step(B.page, () => quick.closeBtcpayGate(remote, deployment));

  const r = await progress.step(B.stacks, () => stacks.deployStacks(remote, deployment, 'btcpay'));
  const applied = r.stacks.map(appliedOf);
  progress.detail(B.stacks, r.stacks.map(stackSummary).join(' | '));

  const stale = stackItems.filter((x) => x.action === 'delete').map((x) => x.name);
  if (!stale.length) progress.skip(B.stale, 'none');
  else await progress.step(B.stale, () => quick.removeStacks(remote, deployment, { stacks: stale }, 'btcpayserver'));

  const args = [
    {
      remote,
      deployment,
      openGate: hasWww,
      ...(input.syncReportEveryS ? { reportEveryS: input.syncReportEveryS } : {}),
    },
  ] as const;
  let sync: BtcpayResult['sync'];
  if (input.noWaitSync) {
    const workflowId = workflowIdFor('chain-sync', { remote, deployment });
    await progress.step(B.sync, async () => {
      try {
        // Its own workflow: it outlives this run (ABANDON) and is found by its ID (ssw status chain-sync/R/D).
        await startChild(chainSyncWait, { workflowId, parentClosePolicy: ParentClosePolicy.ABANDON, args: [...args] });
      } catch (err) {
        // One is waiting already (an earlier --no-wait-sync): it does the same job.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    });
    progress.detail(B.sync, `not waited for (--no-wait-sync): it runs on as ${workflowId}`);
    sync = { workflowId, waiting: true };
  } else {
    // The child reports its progress here too, so `ssw up` shows "block N of M" on this step.
    setHandler(chainSyncProgressSignal, (text) => progress.report(B.sync, text));
    sync = await progress.step(B.sync, () =>
      executeChild(chainSyncWait, {
        workflowId: `${workflowInfo().workflowId}/chain-sync`,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        args: [...args],
      }),
    );
    progress.detail(B.sync, sync.summary);
  }
  return { secretsAdded: added, ...(preload ? { preload } : {}), stacks: applied, removedStacks: stale, sync };
}
