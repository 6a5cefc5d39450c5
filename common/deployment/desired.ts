import { stringify } from 'yaml';
import type { DeploymentConfig, InstanceType } from '../config';
import { DEFAULT_BACKUP_PATH, DEFAULT_DATA_PATH } from '../hosts';

/**
 * What a deployment should look like on its remote's LXD, as data, from the
 * validated config (ss's up.sh, deploy_vm.sh and stub_profile.sh): the LXD
 * project, the deployment's internal network, the weekly base image, and per
 * instance a profile (limits, cloud-init, NICs, disks), storage volumes and
 * the instance. Pure: no I/O, unit-tested, imported by the CLI (`--plan`),
 * activities and workflows alike.
 */

export const STORAGE_POOL = 'ss-base';
/** The login ss's images have (cloud-init creates it; ssw's test image ships it). */
export const INSTANCE_USER = 'ubuntu';
/** ss's default when BASE_IMAGE is unset. */
export const DEFAULT_BASE_SOURCE = 'images:ubuntu/jammy/cloud';
/** Marks every LXD object ssw made for a deployment (project, network, profiles, volumes, instances). */
export const MANAGED_KEY = 'user.ssw.deployment';
/** The NIC on the LAN (data plane) and the NIC on the deployment's internal network, named as ss's VMs name them. */
export const DATA_NIC = 'enp5s0';
export const INTERNAL_NIC = 'enp6s0';

export const INSTANCE_ROLES = ['www', 'btcpayserver', 'lnplayserver'] as const;
export type InstanceRole = (typeof INSTANCE_ROLES)[number];

export interface DesiredVolume {
  /** `<role>-docker`, `<role>-ss-data`, `<role>-backup` (ss's names, unique within the deployment's project). */
  name: string;
  contentType: 'filesystem' | 'block';
  sizeGb: number;
  /** Where it is mounted in the instance; absent for a VM's block device (cloud-init formats and mounts it). */
  path?: string;
}

export interface DesiredInstance {
  role: InstanceRole;
  /** ss's instance name: the FQDN with dots as dashes, e.g. www-example-com; also the profile's name. */
  name: string;
  fqdn: string;
  type: InstanceType;
  macAddress: string;
  /** A fixed address on DATA_PLANE_NETWORK (*_IPV4_ADDRESS). */
  ipv4Address?: string;
  cpuCount: number;
  memoryMb: number;
  volumes: DesiredVolume[];
  profile: DesiredProfile;
}

export interface DesiredProfile {
  description: string;
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
}

export interface DesiredNetwork {
  name: string;
  /** OVN when the remote has OVN (as ss), else a managed bridge without NAT or uplink. */
  type: 'ovn' | 'bridge';
  /** Bridges live in the default project (LXD allows them nowhere else); OVN networks in the deployment's. */
  project: string;
  config: Record<string, string>;
}

export interface DesiredBaseImage {
  /** ss's weekly image name: ss-docker-<ISO year>-w<ISO week>. */
  alias: string;
  /** BASE_IMAGE, or ss's default: what the builder instance starts from. */
  source: string;
  /**
   * The instance that builds it: one per deployment, so two deployments of a remote brought up at once each build
   * in their own (the first to publish wins; the other's image is dropped) instead of driving one builder together.
   */
  builder: string;
  /** Commands every instance needs; the builder installs the packages of those missing. */
  requiredCommands: Record<string, string>;
}

export interface DesiredDeployment {
  remote: string;
  deployment: string;
  project: { name: string; config: Record<string, string> };
  network: DesiredNetwork;
  baseImage: DesiredBaseImage;
  instances: DesiredInstance[];
  /** Roles the config deploys but this run leaves alone (--skip-*). */
  skipped: InstanceRole[];
  /** The operator's public key (public: fine in history), authorized on every instance. */
  sshPublicKey: string;
}

/** Facts about the remote the desired state depends on (read from the remote record and its LXD). */
export interface RemoteFacts {
  /** The remote's data-plane interface (macvlan parent), from `ssw remote add`. */
  dataPlaneInterface: string;
  /** Whether the remote has OVN configured (server key network.ovn.northbound_connection). */
  hasOvn: boolean;
  /** The OVN network's uplink, ss-remote's second bridge: lxdbr1, or incusbr1 on Incus. @default lxdbr1 */
  ovnUplink?: string;
  /** `cloud-init.*` profile keys (LXD ≥ 5.5, Incus) or the older `user.*` ones. */
  cloudInitKeys: 'cloud-init' | 'user';
  /** The subnet of the deployment's bridge: the existing network's, or a free one chosen for it. */
  bridgeSubnet: string;
  /** The operator's SSH public key (one OpenSSH line), authorized for INSTANCE_USER. */
  sshPublicKey: string;
}

export interface DesiredOptions {
  skip?: Partial<Record<InstanceRole, boolean>>;
  /** The date the run plans on (the workflow's or CLI's clock), for the weekly base image name. */
  now: Date;
}

/** Commands an instance needs, and the Debian/Ubuntu package that provides each. */
export const REQUIRED_COMMANDS: Record<string, string> = {
  sshd: 'openssh-server',
  docker: 'docker.io',
  duplicity: 'duplicity',
  certbot: 'certbot',
  rsync: 'rsync',
  curl: 'curl',
  jq: 'jq',
  'update-ca-certificates': 'ca-certificates',
};

/** ISO 8601 week: the base image is rebuilt weekly, as ss's DOCKER_BASE_IMAGE_NAME. */
export function weeklyImageAlias(now: Date): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day); // the Thursday of this week decides the year
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `ss-docker-${d.getUTCFullYear()}-w${String(week).padStart(2, '0')}`;
}

export function instanceName(role: InstanceRole, hostname: string, primaryDomain: string): string {
  return `${hostname}.${primaryDomain}`.replace(/\./g, '-').slice(0, 63).replace(/-+$/, '') || role;
}

/**
 * The deployment's internal network name: ss's `ss-ovn` inside the project
 * for OVN; for a bridge (in the default project, shared by all deployments,
 * and a Linux interface name: at most 15 characters) one per deployment.
 */
export function deploymentNetworkName(deployment: string, type: 'ovn' | 'bridge'): string {
  if (type === 'ovn') return 'ss-ovn';
  const plain = `ss-${deployment}`;
  if (plain.length <= 15) return plain;
  let h = 0;
  for (const c of deployment) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `ss-${deployment.slice(0, 7)}-${(h % 0xffff).toString(16).padStart(4, '0')}`;
}

/**
 * A /24 for a deployment's bridge that no existing network uses: LXD cannot
 * pick one itself on every host. Starts from a slot derived from the name,
 * so the same deployment tends to get the same subnet on every remote.
 */
export function chooseBridgeSubnet(deployment: string, usedCidrs: string[]): string {
  const used = new Set(usedCidrs.map((c) => c.split('/')[0]!.split('.').slice(0, 3).join('.')));
  let h = 0;
  for (const c of deployment) h = (h * 131 + c.charCodeAt(0)) >>> 0;
  for (let i = 0; i < 256; i++) {
    const third = (h + i) % 256;
    const net = `10.151.${third}`;
    if (!used.has(net)) return `${net}.1/24`;
  }
  throw new Error('No free /24 left in 10.151.0.0/16 for a deployment bridge');
}

/**
 * The config to create a deployment's bridge with: the planned one, unless another network on the host uses its /24
 * by now (two deployments planned at the same time can pick the same free subnet; LXD then fails the second bridge's
 * DHCP server), in which case a subnet free of every network `existing` lists.
 */
export function bridgeConfigToCreate(
  network: DesiredNetwork,
  existing: { name: string; config?: Record<string, string> }[],
): Record<string, string> {
  const slot = (cidr: string) => cidr.split('/')[0]!.split('.').slice(0, 3).join('.');
  const used = existing
    .filter((n) => n.name !== network.name)
    .map((n) => n.config?.['ipv4.address'] ?? '')
    .filter((c) => c && c !== 'none');
  const planned = network.config['ipv4.address'];
  if (!planned || !used.some((c) => slot(c) === slot(planned))) return network.config;
  const deployment = network.config[MANAGED_KEY] ?? network.name;
  return { ...network.config, 'ipv4.address': chooseBridgeSubnet(deployment, used) };
}

/** A deployment's base image builder, in the default project: a valid instance name (at most 63, no trailing dash). */
export function baseImageBuilderName(alias: string, deployment: string): string {
  return `ssw-build-${alias}-${deployment}`.slice(0, 63).replace(/-+$/, '');
}

function roleHostname(config: DeploymentConfig, role: InstanceRole): string {
  const h = config.project.hostnames;
  return role === 'www' ? h.www : role === 'btcpayserver' ? h.btcpayServer : h.lnplayServer;
}

export function desiredDeployment(config: DeploymentConfig, facts: RemoteFacts, o: DesiredOptions): DesiredDeployment {
  const p = config.project;
  const deployment = p.name;
  const networkType = facts.hasOvn ? 'ovn' : 'bridge';
  const network: DesiredNetwork =
    networkType === 'ovn'
      ? {
          name: 'ss-ovn',
          type: 'ovn',
          project: deployment,
          config: { network: facts.ovnUplink ?? 'lxdbr1', 'ipv6.address': 'none' },
        }
      : {
          name: deploymentNetworkName(deployment, 'bridge'),
          type: 'bridge',
          project: 'default',
          // Internal only, like ss-ovn: no NAT, no route out; DHCP hands out addresses but no default route.
          config: {
            'ipv4.address': facts.bridgeSubnet,
            'ipv4.nat': 'false',
            'ipv4.dhcp': 'true',
            'ipv6.address': 'none',
            [MANAGED_KEY]: deployment,
          },
        };

  const instances: DesiredInstance[] = [];
  const skipped: InstanceRole[] = [];
  for (const role of INSTANCE_ROLES) {
    const ic = p[role];
    if (!ic.macAddress) continue;
    if (o.skip?.[role]) {
      skipped.push(role);
      continue;
    }
    const hostname = roleHostname(config, role);
    const name = instanceName(role, hostname, p.primaryDomain);
    const fqdn = `${hostname}.${p.primaryDomain}`;
    const volumes = desiredVolumes(
      role,
      p.instanceType,
      'disksGb' in ic ? (ic as { disksGb: { docker: number; ssdata: number; backup: number } }).disksGb : undefined,
    );
    const base = {
      role,
      name,
      fqdn,
      type: p.instanceType,
      macAddress: ic.macAddress,
      ...(ic.ipv4Address ? { ipv4Address: ic.ipv4Address } : {}),
      cpuCount: ic.cpuCount,
      memoryMb: ic.memoryMb,
      volumes,
    };
    instances.push({
      ...base,
      profile: renderProfile(base, { deployment, network, facts, dataPlaneNetwork: config.remote.dataPlaneNetwork }),
    });
  }

  return {
    remote: config.remote.name,
    deployment,
    project: {
      name: deployment,
      // Own profiles and volumes (ss's names repeat in every deployment); images shared from the
      // default project (one weekly base image per remote); networks from the default project unless OVN.
      config: {
        'features.images': 'false',
        'features.profiles': 'true',
        'features.storage.volumes': 'true',
        'features.networks': 'false',
        [MANAGED_KEY]: deployment,
      },
    },
    network,
    baseImage: {
      alias: weeklyImageAlias(o.now),
      source: p.baseImage ?? DEFAULT_BASE_SOURCE,
      builder: baseImageBuilderName(weeklyImageAlias(o.now), deployment),
      requiredCommands: REQUIRED_COMMANDS,
    },
    instances,
    skipped,
    sshPublicKey: facts.sshPublicKey,
  };
}

/**
 * ss's three volumes per www/btcpayserver instance; lnplayserver has none. Docker's is a block device on VMs, a
 * directory on containers (LXD attaches no block volume to a container).
 */
export function desiredVolumes(
  role: InstanceRole,
  type: InstanceType,
  sizes?: { docker: number; ssdata: number; backup: number },
): DesiredVolume[] {
  if (role === 'lnplayserver' || !sizes) return [];
  const vm = type === 'virtual-machine';
  return [
    {
      name: `${role}-docker`,
      contentType: vm ? 'block' : 'filesystem',
      sizeGb: sizes.docker,
      ...(vm ? {} : { path: '/var/lib/docker' }),
    },
    { name: `${role}-ss-data`, contentType: 'filesystem', sizeGb: sizes.ssdata, path: DEFAULT_DATA_PATH },
    { name: `${role}-backup`, contentType: 'filesystem', sizeGb: sizes.backup, path: DEFAULT_BACKUP_PATH },
  ];
}

interface ProfileContext {
  deployment: string;
  network: DesiredNetwork;
  facts: RemoteFacts;
  dataPlaneNetwork?: string;
}

/**
 * An instance's profile: CPU and memory limits, cloud-init (hostname, the
 * operator's key for `ubuntu`, the docker disk on VMs, DHCP on both NICs),
 * the data-plane NIC (macvlan on the LAN, or a named bridge) with the pinned
 * MAC, the internal NIC, the root disk and the volumes.
 */
export function renderProfile(i: Omit<DesiredInstance, 'profile'>, ctx: ProfileContext): DesiredProfile {
  const keys = ctx.facts.cloudInitKeys;
  const container = i.type === 'container';
  const config: Record<string, string> = {
    'limits.cpu': String(i.cpuCount),
    'limits.memory': `${i.memoryMb}MB`,
    [`${keys}.vendor-data`]: renderVendorData(i, ctx.facts.sshPublicKey),
    [`${keys}.network-config`]: renderNetworkConfig(i),
    [MANAGED_KEY]: ctx.deployment,
  };
  // Docker runs inside: a container needs nesting (and the syscalls Docker's own containers use).
  if (container)
    Object.assign(config, {
      'security.nesting': 'true',
      'security.syscalls.intercept.mknod': 'true',
      'security.syscalls.intercept.setxattr': 'true',
    });

  const nicName: Record<string, string> = container ? { name: DATA_NIC } : {};
  const dataNic: Record<string, string> = ctx.dataPlaneNetwork
    ? {
        type: 'nic',
        network: ctx.dataPlaneNetwork,
        hwaddr: i.macAddress,
        ...(i.ipv4Address ? { 'ipv4.address': i.ipv4Address } : {}),
        ...nicName,
      }
    : { type: 'nic', nictype: 'macvlan', parent: ctx.facts.dataPlaneInterface, hwaddr: i.macAddress, ...nicName };
  const devices: Record<string, Record<string, string>> = {
    root: { type: 'disk', path: '/', pool: STORAGE_POOL },
    [DATA_NIC]: dataNic,
  };
  if (i.role !== 'lnplayserver')
    devices[INTERNAL_NIC] = { type: 'nic', network: ctx.network.name, ...(container ? { name: INTERNAL_NIC } : {}) };
  else devices.root.size = '20GiB';
  // cloud-init's config drive: VMs read it from this disk; containers get the keys through LXD's templates.
  if (!container) devices.config = { type: 'disk', source: 'cloud-init:config' };
  for (const v of i.volumes) {
    const dev = v.name.slice(i.role.length + 1); // docker, ss-data, backup
    devices[dev] = { type: 'disk', pool: STORAGE_POOL, source: v.name, ...(v.path ? { path: v.path } : {}) };
  }
  return { description: `ssw: ${i.role} of deployment ${ctx.deployment} (${i.fqdn})`, config, devices };
}

export function renderVendorData(i: Pick<DesiredInstance, 'role' | 'fqdn' | 'type'>, sshPublicKey: string): string {
  const doc: Record<string, unknown> = {
    preserve_hostname: false,
    fqdn: i.fqdn,
    package_update: false,
    package_upgrade: false,
    users: [
      {
        name: INSTANCE_USER,
        groups: ['sudo', 'docker'],
        shell: '/bin/bash',
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        lock_passwd: true,
        ssh_authorized_keys: [sshPublicKey],
      },
    ],
  };
  // On a VM, Docker's volume is a raw block device: one ext4 partition, mounted at /var/lib/docker (ss's layout).
  if (i.type === 'virtual-machine' && i.role !== 'lnplayserver') {
    Object.assign(doc, {
      resize_rootfs: false,
      disk_setup: { '/dev/sdb': { table_type: 'gpt', layout: true, overwrite: false } },
      fs_setup: [{ label: 'docker-data', filesystem: 'ext4', device: '/dev/sdb1', overwrite: false }],
      mounts: [['sdb', '/var/lib/docker']],
      mount_default_fields: [null, null, 'auto', 'defaults,nofail', '0', '2'],
    });
  }
  return `#cloud-config\n${stringify(doc)}`;
}

export function renderNetworkConfig(i: Pick<DesiredInstance, 'role' | 'macAddress'>): string {
  const ethernets: Record<string, unknown> = {
    [DATA_NIC]: {
      dhcp4: true,
      'dhcp4-overrides': { 'route-metric': 50 },
      match: { macaddress: i.macAddress },
      'set-name': DATA_NIC,
    },
  };
  // The internal network carries www <-> btcpayserver traffic only: no default route through it.
  if (i.role !== 'lnplayserver')
    ethernets[INTERNAL_NIC] = { dhcp4: true, 'dhcp4-overrides': { 'use-routes': false, 'use-dns': false } };
  return stringify({ version: 2, ethernets });
}
