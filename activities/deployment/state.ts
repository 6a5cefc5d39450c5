import { ssBridges } from '../../common/backend';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { utils } from 'ssh2';
import { loadDeploymentConfig, type DeploymentConfig } from '../../common/config';
import {
  chooseBridgeSubnet,
  deploymentNetworkName,
  desiredDeployment,
  STORAGE_POOL,
  type DesiredDeployment,
  type InstanceRole,
  type RemoteFacts,
} from '../../common/deployment/desired';
import {
  planDeployment,
  parseLxdSize,
  type CurrentDeployment,
  type DeploymentPlan,
  type PlanItem,
} from '../../common/deployment/plan';
import { UserError } from '../../common/errors';
import type { SsPaths } from '../../common/paths';
import { readRemoteRecord, type RemoteRecord } from '../../common/remotes';
import { instanceRecordExists, readBtcpayHost, readWwwHost } from '../../common/hosts/instance-record';
import { instanceStacks, readStackPlan } from '../docker';
import type { DockerConnector } from '../docker/connect';
import { builderOf } from './base-image';
import type { LxdClient, LxdConnector } from '../lxd';

/**
 * Reading a deployment's state: the config (validated), the remote's record
 * and LXD, and from them the desired state, what exists and the plan. Used
 * by the CLI (`ssw up --plan`, `ssw show`) and by the workflow's first step,
 * so both print and apply the same plan. Reads only: changes nothing.
 */

export interface DeploymentRef {
  remote: string;
  deployment: string;
  skip?: Partial<Record<InstanceRole, boolean>>;
  /** The instances only (`ssw up --instances-only`): no stack items in the plan. */
  instancesOnly?: boolean;
}

export interface DeploymentState {
  desired: DesiredDeployment;
  current: CurrentDeployment;
  plan: DeploymentPlan;
}

export function requireRemoteRecord(paths: SsPaths, remote: string): RemoteRecord {
  const rec = readRemoteRecord(paths, remote);
  if (!rec)
    throw new UserError(
      `Remote ${remote} is not under management here (${paths.remoteRecord(remote)} is missing). Run "ssw remote add ${remote} HOST" first.`,
    );
  return rec;
}

/** What reading a deployment's state needs: the config under `paths`, the remote's LXD, the www instance's Docker. */
export interface StateReaders {
  paths: SsPaths;
  lxd: LxdConnector;
  docker: DockerConnector;
}

/**
 * The operator's SSH public key, authorized on every instance: the `.pub`
 * beside the remote's key, or derived from that key, or (agent users) the
 * usual ~/.ssh public keys, as ss reads ~/.ssh/id_rsa.pub.
 */
export function operatorPublicKey(rec: RemoteRecord): string {
  const keyPath = rec.ssh.privateKeyPath;
  if (keyPath) {
    if (fs.existsSync(`${keyPath}.pub`)) return fs.readFileSync(`${keyPath}.pub`, 'utf8').trim().split('\n')[0]!;
    const parsed = utils.parseKey(fs.readFileSync(keyPath));
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key && !(key instanceof Error)) return `${key.type} ${key.getPublicSSH().toString('base64')} ssw-operator`;
  }
  for (const name of ['id_ed25519.pub', 'id_ecdsa.pub', 'id_rsa.pub']) {
    const file = path.join(os.homedir(), '.ssh', name);
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim().split('\n')[0]!;
  }
  throw new UserError(
    `No SSH public key to authorize on the instances: remote ${rec.name} uses ${keyPath ? `${keyPath}, which could not be read as a key` : 'ssh-agent'}, and ~/.ssh has no id_ed25519.pub, id_ecdsa.pub or id_rsa.pub.`,
  );
}

/** What the desired state depends on that only the remote knows. */
export async function remoteFacts(lxd: LxdClient, rec: RemoteRecord, deployment: string): Promise<RemoteFacts> {
  const server = await lxd.server();
  const hasOvn = Boolean((server.config as Record<string, unknown> | undefined)?.['network.ovn.northbound_connection']);
  const ext = server.api_extensions ?? [];
  const cloudInitKeys = ext.includes('cloud_init') || rec.backend === 'incus' ? 'cloud-init' : 'user';
  let bridgeSubnet = '';
  if (!hasOvn) {
    const networks = await lxd.withProject('default').listNetworks();
    const own = networks.find((n) => n.name === deploymentNetworkName(deployment, 'bridge'));
    bridgeSubnet =
      own?.config?.['ipv4.address'] ??
      chooseBridgeSubnet(
        deployment,
        networks.map((n) => n.config?.['ipv4.address'] ?? '').filter((c) => c && c !== 'none'),
      );
  }
  return {
    dataPlaneInterface: rec.dataPlaneInterface,
    hasOvn,
    ovnUplink: ssBridges(rec.backend).ovn,
    cloudInitKeys,
    bridgeSubnet,
    sshPublicKey: operatorPublicKey(rec),
  };
}

export async function readCurrent(lxd: LxdClient, desired: DesiredDeployment): Promise<CurrentDeployment> {
  const current: CurrentDeployment = { profiles: {}, volumes: {}, instances: {} };
  const project = await lxd.getProject(desired.project.name);
  const global = lxd.withProject('default');
  const alias = await global.getImageAlias(desired.baseImage.alias);
  if (alias) {
    const builderLeft = Boolean(await global.getInstance(builderOf(desired.baseImage)));
    current.baseImage = {
      alias: desired.baseImage.alias,
      fingerprint: alias.target,
      ...(builderLeft ? { builderLeft } : {}),
    };
  }
  // A bridge lives in the default project; an OVN network in the deployment's, which may not exist yet.
  const n = desired.network;
  const net = n.project === 'default' || project ? await lxd.withProject(n.project).getNetwork(n.name) : undefined;
  if (net)
    current.network = { name: net.name, type: net.type ?? '', config: net.config ?? {}, usedBy: net.used_by ?? [] };
  if (!project) return current;
  current.project = { config: project.config ?? {} };
  const scoped = lxd.withProject(desired.project.name);
  for (const p of await scoped.listProfiles()) {
    if (p.name === 'default') continue;
    current.profiles[p.name] = { description: p.description ?? '', config: p.config ?? {}, devices: p.devices ?? {} };
  }
  if (await lxd.getStoragePool(STORAGE_POOL)) {
    for (const v of await scoped.listStorageVolumes(STORAGE_POOL)) {
      current.volumes[v.name] = {
        contentType: v.content_type ?? 'filesystem',
        sizeBytes: parseLxdSize(v.config?.size),
        usedBy: v.used_by ?? [],
      };
    }
  }
  for (const i of await scoped.listInstances())
    current.instances[i.name] = { type: i.type, status: i.status, profiles: i.profiles };
  return current;
}

/**
 * The stacks on the www and btcpayserver instances, read from each one's Docker engine when the
 * instance runs and stays; on an instance to be created, every stack is.
 * An engine that cannot be read makes every stack a change (with why), so
 * `up` goes through them and reports what it found.
 */
async function stackItems(
  readers: StateReaders,
  config: DeploymentConfig,
  ref: DeploymentRef,
  desired: DesiredDeployment,
  current: CurrentDeployment,
  plan: DeploymentPlan,
): Promise<PlanItem[]> {
  if (ref.instancesOnly) return [];
  const items: PlanItem[] = [];
  for (const role of ['www', 'btcpayserver'] as const) {
    const instance = desired.instances.find((i) => i.role === role);
    if (instance) items.push(...(await roleStackItems(readers, config, ref, instance, current, plan)));
  }
  return items;
}

async function roleStackItems(
  { paths, docker }: StateReaders,
  config: DeploymentConfig,
  ref: DeploymentRef,
  www: DesiredDeployment['instances'][number],
  current: CurrentDeployment,
  plan: DeploymentPlan,
): Promise<PlanItem[]> {
  const role = www.role as 'www' | 'btcpayserver';
  const rendered = instanceStacks(paths, config, ref.remote, ref.deployment, role);
  const item = (name: string, action: PlanItem['action'], details: string[]): PlanItem => ({
    kind: 'stack',
    name,
    action,
    details,
    role,
  });
  const instanceStays =
    plan.items.some((x) => x.kind === 'instance' && x.name === www.name && x.action === 'keep') &&
    current.instances[www.name]?.status === 'Running';
  if (!instanceStays || !instanceRecordExists(paths, ref.remote, ref.deployment, role))
    return rendered.map((s) => item(s.name, 'create', []));
  try {
    const host =
      role === 'www'
        ? readWwwHost(paths, ref.remote, ref.deployment)
        : readBtcpayHost(paths, ref.remote, ref.deployment);
    const diff = await readStackPlan(docker, rendered, host.ssh);
    return diff.map((d) => item(d.stack, d.action, d.details));
  } catch (err) {
    return rendered.map((s) => ({
      ...item(s.name, 'change', [`its Docker engine could not be read: ${(err as Error).message.split('\n')[0]}`]),
      unread: true,
    }));
  }
}

/**
 * Config → desired → current → plan. Config problems throw UserError (the CLI prints them; the activity makes them
 * final).
 */
export async function readDeploymentState(
  readers: StateReaders,
  ref: DeploymentRef,
  now: Date,
): Promise<DeploymentState & { config: DeploymentConfig }> {
  const { paths } = readers;
  const config = loadDeploymentConfig(paths, ref);
  const rec = requireRemoteRecord(paths, ref.remote);
  const lxd = await readers.lxd.remote(rec);
  try {
    const facts = await remoteFacts(lxd, rec, ref.deployment);
    const desired = desiredDeployment(config, facts, { skip: ref.skip, now });
    const current = await readCurrent(lxd, desired);
    const plan = planDeployment(desired, current);
    plan.items.push(...(await stackItems(readers, config, ref, desired, current, plan)));
    plan.empty = plan.items.every((x) => x.action === 'keep');
    return { config, desired, current, plan };
  } finally {
    lxd.close();
  }
}
