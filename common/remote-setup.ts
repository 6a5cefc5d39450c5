import { stringify } from 'yaml';
import { type Backend, ssBridges } from './backend';

/**
 * The LXD setup ss-remote's `lxd init --preseed` makes, as data, and a
 * planner that compares it with what the host has. Applying only the
 * planned changes is what makes a re-run of `remote add` change nothing.
 * Pure: unit-tested without a host.
 *
 * Left out of ss's preseed on purpose: core.trust_password (ssw trusts its
 * client certificate through a one-time token), core.dns_address (binds
 * port 53 on the management address; comes with OVN in the deployment
 * issues), and clustering (one host per remote until multi-host DCs).
 */

export const STORAGE_POOL = 'ss-base';
/** Default-profile config key where ssw remembers the root disk it replaced (JSON). */
export const PREVIOUS_ROOT_KEY = 'user.ssw.previous_root';
/** Set on the bridges ssw creates: deprovisioning removes only what carries it. */
export const CREATED_KEY = 'user.ssw.created';
/** The description of the pool ssw creates (pools take no user.* keys): the same marker, for pools. */
export const POOL_DESCRIPTION = 'Sovereign Stack storage (created by ssw)';

export interface SetupOptions {
  /** The host's address on the management plane (where SSH reached it). */
  mgmtIp: string;
  /** @default 8443 */
  apiPort: number;
  /** "dir" (test hosts), "loop" (ZFS on a loop file) or a block device for ZFS. */
  disk: string;
  /** The data-plane interface, recorded in the NAT bridge's description as ss does. */
  dataPlaneInterface: string;
}

export interface PoolSpec {
  name: string;
  driver: 'dir' | 'zfs';
  description: string;
  config: Record<string, string>;
}

export interface NetworkSpec {
  name: string;
  description: string;
  config: Record<string, string>;
}

export interface DesiredSetup {
  serverConfig: Record<string, string>;
  pool: PoolSpec;
  networks: NetworkSpec[];
  /** The default profile's root disk. */
  rootDisk: Record<string, string>;
}

export function httpsAddress(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** ss-remote's setup on `backend` (the same pool and bridges; Incus names its bridges incusbr0/1). */
export function desiredSetup(o: SetupOptions, backend: Backend = 'lxd'): DesiredSetup {
  const bridges = ssBridges(backend);
  const pool: PoolSpec =
    o.disk === 'dir'
      ? { name: STORAGE_POOL, driver: 'dir', description: POOL_DESCRIPTION, config: {} }
      : o.disk === 'loop'
        ? { name: STORAGE_POOL, driver: 'zfs', description: POOL_DESCRIPTION, config: {} } // LXD makes the loop file itself
        : { name: STORAGE_POOL, driver: 'zfs', description: POOL_DESCRIPTION, config: { source: o.disk } };
  return {
    serverConfig: {
      'core.https_address': httpsAddress(o.mgmtIp, o.apiPort),
      'images.auto_update_interval': '15',
    },
    pool,
    networks: [
      {
        name: bridges.nat,
        description: `ss-config,${o.dataPlaneInterface}`,
        config: {
          'ipv4.address': '10.9.9.1/24',
          'ipv4.dhcp.ranges': '10.9.9.10-10.9.9.127',
          'ipv4.nat': 'true',
          'ipv6.address': 'none',
          'dns.mode': 'managed',
        },
      },
      {
        name: bridges.ovn,
        description: 'Non-natting bridge needed for ovn networks.',
        config: {
          'ipv4.address': '10.10.10.1/24',
          'ipv4.dhcp.ranges': '10.10.10.10-10.10.10.63',
          'ipv4.ovn.ranges': '10.10.10.64-10.10.10.254',
          'ipv4.nat': 'false',
          'ipv6.address': 'none',
        },
      },
    ],
    rootDisk: { path: '/', pool: STORAGE_POOL, type: 'disk' },
  };
}

/** The preseed YAML equivalent of `desired`, for operators who want to see or apply it by hand. */
export function renderPreseed(d: DesiredSetup): string {
  return stringify({
    config: d.serverConfig,
    storage_pools: [{ name: d.pool.name, driver: d.pool.driver, config: d.pool.config }],
    networks: d.networks.map((n) => ({ name: n.name, type: 'bridge', description: n.description, config: n.config })),
    profiles: [{ name: 'default', devices: { root: d.rootDisk } }],
  });
}

/** What the host's LXD has, as far as the plan cares. */
export interface CurrentSetup {
  serverConfig: Record<string, string>;
  pools: Record<string, { driver: string; config: Record<string, string> }>;
  networks: Record<string, { type: string; managed: boolean; description: string; config: Record<string, string> }>;
  defaultProfileDevices: Record<string, Record<string, string>>;
}

export type SetupChange =
  | { kind: 'server-config'; config: Record<string, string> }
  | { kind: 'create-pool'; pool: PoolSpec }
  | { kind: 'create-network'; network: NetworkSpec }
  | { kind: 'update-network'; name: string; description?: string; config: Record<string, string> }
  | { kind: 'set-root-disk'; device: Record<string, string> };

/** A host whose existing setup contradicts ssw's and that ssw will not overwrite. */
export class SetupConflict extends Error {
  override name = 'SetupConflict';
}

function differing(want: Record<string, string>, have: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(want).filter(([k, v]) => have[k] !== v));
}

/** ":8443", "[::]:8443" and "0.0.0.0:8443" already listen on every address, the management one included. */
function listensOn(have: string | undefined, want: string): boolean {
  if (have === undefined) return false;
  if (have === want) return true;
  const port = (a: string) => a.slice(a.lastIndexOf(':') + 1);
  const host = have.slice(0, have.lastIndexOf(':'));
  return ['', '[::]', '0.0.0.0', '::'].includes(host) && port(have) === port(want);
}

/** The changes that bring `current` to `desired`; empty when nothing differs. */
export function planSetup(current: CurrentSetup, desired: DesiredSetup): SetupChange[] {
  const changes: SetupChange[] = [];
  const server = differing(desired.serverConfig, current.serverConfig);
  // Narrowing a wildcard listener would cut off the operator's other clients.
  if (listensOn(current.serverConfig['core.https_address'], desired.serverConfig['core.https_address']))
    delete server['core.https_address'];
  if (Object.keys(server).length) changes.push({ kind: 'server-config', config: server });

  const pool = current.pools[desired.pool.name];
  if (!pool) changes.push({ kind: 'create-pool', pool: desired.pool });
  else {
    // A pool's driver and source are fixed at creation: never "fix" them on a host with data.
    if (pool.driver !== desired.pool.driver) {
      throw new SetupConflict(
        `Storage pool ${desired.pool.name} already exists with driver ${pool.driver}, not ${desired.pool.driver}. Choose the matching --disk, or remove the pool on the host first.`,
      );
    }
    const source = desired.pool.config.source;
    if (source && pool.config.source !== source) {
      throw new SetupConflict(
        `Storage pool ${desired.pool.name} already exists on ${pool.config.source ?? 'another source'}, not ${source}.`,
      );
    }
  }

  for (const net of desired.networks) {
    const have = current.networks[net.name];
    if (!have) {
      changes.push({ kind: 'create-network', network: net });
      continue;
    }
    if (!have.managed || have.type !== 'bridge') {
      throw new SetupConflict(
        `The host already has an interface named ${net.name} that is not an LXD-managed bridge; ssw will not take it over.`,
      );
    }
    const config = differing(net.config, have.config);
    // A bridge ssw did not create may carry running instances: never renumber or re-NAT it.
    if (have.config[CREATED_KEY] !== 'true' && Object.keys(config).length > 0) {
      const diffs = Object.entries(config)
        .map(([k, v]) => `${k} is ${have.config[k] ?? 'unset'}, ssw wants ${v}`)
        .join('; ');
      throw new SetupConflict(
        `The bridge ${net.name} exists but was not created by ssw and differs (${diffs}). ssw will not change a bridge that may carry other instances; align it by hand or delete it, then run again.`,
      );
    }
    const description = have.description !== net.description ? net.description : undefined;
    if (Object.keys(config).length || description !== undefined)
      changes.push({ kind: 'update-network', name: net.name, description, config });
  }

  const root = current.defaultProfileDevices.root ?? {};
  if (Object.keys(differing(desired.rootDisk, root)).length)
    changes.push({ kind: 'set-root-disk', device: desired.rootDisk });
  return changes;
}

/** One line per change, for progress details and results. */
export function describeChange(c: SetupChange): string {
  switch (c.kind) {
    case 'server-config':
      return `server config ${Object.entries(c.config)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`;
    case 'create-pool':
      return `create storage pool ${c.pool.name} (${c.pool.driver}${c.pool.config.source ? ` on ${c.pool.config.source}` : ''})`;
    case 'create-network':
      return `create bridge ${c.network.name} (${c.network.config['ipv4.address']})`;
    case 'update-network':
      return `update bridge ${c.name}: ${[...Object.keys(c.config), ...(c.description !== undefined ? ['description'] : [])].join(', ')}`;
    case 'set-root-disk':
      return `default profile root disk on pool ${c.device.pool}`;
  }
}
