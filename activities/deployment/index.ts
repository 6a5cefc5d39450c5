import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import {
  bridgeConfigToCreate,
  DATA_NIC,
  INSTANCE_USER,
  MANAGED_KEY,
  STORAGE_POOL,
  type DesiredBaseImage,
  type DesiredInstance,
  type DesiredNetwork,
  type DesiredVolume,
  type InstanceRole,
} from '../../common/deployment/desired';
import { parseLxdSize, type DeploymentPlan } from '../../common/deployment/plan';
import type { DesiredDeployment } from '../../common/deployment/desired';
import type { InstanceType } from '../../common/config';
import { FailureType } from '../../common/failure-types';
import type { SsPaths } from '../../common/paths';
import { DEFAULT_BACKUP_PATH, DEFAULT_DATA_PATH } from '../../common/hosts';
import { removeInstanceRecord, writeInstanceRecord } from '../../common/hosts/instance-record';
import { configured } from '../config';
import { stallLimitMs, whileBeating, withProgress } from '../heartbeat';
import type { DockerConnector } from '../docker/connect';
import { lxdStatusOf, type LxdClient, type LxdConnector } from '../lxd';
import { forgetHostKey, pinHostKey, type SshConnection, type SshConnector, type SshTarget } from '../ssh';
import { HostKeyConflictError } from '../../common/known-hosts';
import { ensureBaseImage as buildBaseImage, type BaseImageResult } from './base-image';
import { pollUntil } from '../poll';
import { readDeploymentState, requireRemoteRecord, type DeploymentRef } from './state';

/**
 * The LXD side of a deployment (ss's up.sh/deploy_vm.sh/down.sh), one
 * idempotent step per activity: each reads what exists first and changes
 * only what differs, so a retry after a crash or a dropped connection
 * finishes the work instead of duplicating it. Instances are reached over
 * the remote's LXD API (pinned server certificate, client certificate) and,
 * once up, over SSH with a host key read through that API: never trusted on
 * first use.
 */

export interface InstanceAddress {
  address: string;
}

export interface InstanceReady {
  role: InstanceRole;
  name: string;
  address: string;
  hostKeyFingerprint: string;
}

const isConflict = (err: unknown) => lxdStatusOf(err) === 409 || /already exists/i.test((err as Error)?.message ?? '');

/**
 * Creates an LXD object that `exists` says is missing; true when this call made it. A
 * conflict means an earlier attempt (or a concurrent one) made it after all: false, and
 * the caller converges the existing object like any other.
 */
async function createIfMissing(exists: unknown, create: () => Promise<unknown>): Promise<boolean> {
  if (exists) return false;
  try {
    await create();
    return true;
  } catch (err) {
    if (!isConflict(err)) throw err;
    return false;
  }
}

function instanceTarget(paths: SsPaths, remote: string, address: string): SshTarget {
  const rec = requireRemoteRecord(paths, remote);
  return {
    host: address,
    port: 22,
    user: INSTANCE_USER,
    privateKeyPath: rec.ssh.privateKeyPath,
    useAgent: rec.ssh.useAgent,
  };
}

export interface DeploymentActivityDeps {
  paths: SsPaths;
  ssh: SshConnector;
  lxd: LxdConnector;
  docker: DockerConnector;
}

export function createDeploymentActivities(deps: DeploymentActivityDeps) {
  const { paths, ssh, lxd: remotes } = deps;
  /** Runs fn with the remote's LXD client (scoped to `project` when given), heartbeating while it runs. */
  async function onRemote<T>(
    remote: string,
    project: string | undefined,
    progress: () => unknown,
    fn: (lxd: LxdClient, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const rec = configured(() => requireRemoteRecord(paths, remote));
    const lxd = await remotes.remote(rec);
    try {
      return await whileBeating(progress, (signal) => fn(project ? lxd.withProject(project) : lxd, signal));
    } finally {
      lxd.close();
    }
  }

  /** Step 1 of up and down: the config (invalid config is final), the remote, and the plan. */
  async function planDeployment(ref: DeploymentRef): Promise<{ desired: DesiredDeployment; plan: DeploymentPlan }> {
    const state = await whileBeating(
      () => ({ reading: `${ref.remote}/${ref.deployment}` }),
      () => configured(() => readDeploymentState(deps, ref, new Date())),
    );
    return { desired: state.desired, plan: state.plan };
  }

  async function ensureProject(
    remote: string,
    project: { name: string; config: Record<string, string> },
  ): Promise<{ created: boolean }> {
    return onRemote(
      remote,
      undefined,
      () => ({ project: project.name }),
      async (lxd, signal) => {
        const have = await lxd.getProject(project.name, { signal });
        const description = `Sovereign Stack deployment ${project.name} (ssw)`;
        const create = () => lxd.createProject({ name: project.name, description, config: project.config }, { signal });
        if (await createIfMissing(have, create)) return { created: true };
        const config = (await lxd.getProject(project.name, { signal }))?.config ?? {};
        const changed = Object.entries(project.config).filter(([k, v]) => config[k] !== v);
        if (changed.length) await lxd.patchProject(project.name, { config: Object.fromEntries(changed) }, { signal });
        return { created: false };
      },
    );
  }

  async function ensureNetwork(remote: string, network: DesiredNetwork): Promise<{ created: boolean }> {
    return onRemote(
      remote,
      network.project,
      () => ({ network: network.name }),
      async (lxd, signal) => {
        const have = await lxd.getNetwork(network.name, { signal });
        const { name, type, config: wanted } = network;
        const description = `Sovereign Stack deployment network (ssw)`;
        // A bridge's subnet is checked again against the host's networks now: another deployment's may have taken it
        // since the plan (or in an earlier attempt that failed on it).
        const create = async () => {
          const config = type === 'bridge' ? bridgeConfigToCreate(network, await lxd.listNetworks({ signal })) : wanted;
          await lxd.createNetwork({ name, type, description, config }, { signal });
        };
        if (await createIfMissing(have, create)) return { created: true };
        const config = (await lxd.getNetwork(network.name, { signal }))?.config ?? {};
        // An existing bridge keeps its subnet: instances hold addresses in it.
        const changed = Object.entries(network.config).filter(([k, v]) => k !== 'ipv4.address' && config[k] !== v);
        if (changed.length) await lxd.patchNetwork(network.name, { config: Object.fromEntries(changed) }, { signal });
        return { created: false };
      },
    );
  }

  /**
   * ss's weekly base image: built once per week and remote, from BASE_IMAGE; a long step that
   * heartbeats each stage it reaches and resumes from it. LXD's operations (an image download,
   * apt-get in the builder, publishing) report no progress of their own that every operation has,
   * so while one runs, the remote's API answering a plain GET /1.0 is the step's proof of life;
   * a remote that stops answering stalls the step, which aborts its pending requests.
   */
  async function ensureBaseImage(
    remote: string,
    image: DesiredBaseImage,
    type: InstanceType,
  ): Promise<BaseImageResult> {
    const rec = configured(() => requireRemoteRecord(paths, remote));
    const lxd = await remotes.remote(rec);
    const ctx = Context.current();
    try {
      return await withProgress(
        `base image ${image.alias} on ${remote}`,
        { stage: 'checking' },
        (step) =>
          step.whileQuiet(() =>
            buildBaseImage(
              lxd,
              image,
              type,
              (stage) => {
                step.progress({ stage });
                ctx.log.info(`base image ${image.alias}: ${stage}`);
              },
              step.signal,
            ),
          ),
        { probe: (signal) => lxd.server({ signal, timeoutMs: 10_000 }) },
      );
    } finally {
      lxd.close();
    }
  }

  async function ensureProfile(
    remote: string,
    project: string,
    instance: DesiredInstance,
  ): Promise<{ action: 'created' | 'updated' | 'unchanged' }> {
    return onRemote(
      remote,
      project,
      () => ({ profile: instance.name }),
      async (lxd, signal) => {
        const want = instance.profile;
        const have = await lxd.getProfile(instance.name, { signal });
        if (await createIfMissing(have, () => lxd.createProfile({ name: instance.name, ...want }, { signal }))) {
          return { action: 'created' };
        }
        const now = await lxd.getProfile(instance.name, { signal });
        if (
          now &&
          JSON.stringify(sorted(now.config)) === JSON.stringify(sorted(want.config)) &&
          JSON.stringify(sortedDevices(now.devices)) === JSON.stringify(sortedDevices(want.devices)) &&
          now.description === want.description
        ) {
          return { action: 'unchanged' };
        }
        await lxd.putProfile(instance.name, want, { signal });
        return { action: 'updated' };
      },
    );
  }

  /** Creates missing volumes and grows small ones; never shrinks one (ZFS cannot, and data would be lost). */
  async function ensureVolumes(
    remote: string,
    project: string,
    volumes: DesiredVolume[],
  ): Promise<{ created: string[]; grown: string[] }> {
    return onRemote(
      remote,
      project,
      () => ({ volumes: volumes.map((v) => v.name) }),
      async (lxd, signal) => {
        const created: string[] = [];
        const grown: string[] = [];
        for (const v of volumes) {
          const size = `${v.sizeGb}GB`;
          const have = await lxd.getStorageVolume(STORAGE_POOL, v.name, { signal });
          const volume = { name: v.name, content_type: v.contentType, config: { size, [MANAGED_KEY]: project } };
          if (await createIfMissing(have, () => lxd.createStorageVolume(STORAGE_POOL, volume as never, { signal }))) {
            created.push(v.name);
            continue;
          }
          const now = await lxd.getStorageVolume(STORAGE_POOL, v.name, { signal });
          const bytes = parseLxdSize(now?.config?.size);
          if (bytes === undefined || bytes < v.sizeGb * 1e9) {
            await lxd.patchStorageVolume(STORAGE_POOL, v.name, { config: { size } }, { signal });
            grown.push(v.name);
          }
        }
        return { created, grown };
      },
    );
  }

  /**
   * Creates the instance from the base image with its profile (which pins the MAC) unless it exists, then starts it.
   */
  async function ensureInstance(
    remote: string,
    project: string,
    instance: DesiredInstance,
    imageAlias: string,
  ): Promise<{ created: boolean; started: boolean }> {
    return onRemote(
      remote,
      project,
      () => ({ instance: instance.name }),
      async (lxd, signal) => {
        let have = await lxd.getInstance(instance.name, { signal });
        const created = await createIfMissing(have, () =>
          lxd.createInstance(
            {
              name: instance.name,
              type: instance.type,
              description: `Sovereign Stack ${instance.role} (ssw)`,
              profiles: [instance.name],
              config: { [MANAGED_KEY]: project },
              // The image lives in the default project (the deployment's project shares its images).
              source: { type: 'image', alias: imageAlias },
            },
            { signal, operationTimeoutMs: 1_800_000 },
          ),
        );
        if (!have) have = await lxd.getInstance(instance.name, { signal });
        if (have?.status === 'Running') return { created, started: false };
        await lxd.setInstanceState(instance.name, { action: 'start' }, { signal });
        return { created, started: true };
      },
    );
  }

  /**
   * Polls the instance's state until its data-plane NIC has a global IPv4 address (DHCP, a reservation for the pinned
   * MAC).
   */
  async function waitForInstanceAddress(
    remote: string,
    project: string,
    name: string,
    timeoutMs = 300_000,
  ): Promise<InstanceAddress> {
    let waited = 0;
    return onRemote(
      remote,
      project,
      () => ({ waitingForAddress: name, waitedMs: waited }),
      async (lxd, signal) => {
        const address = await pollUntil(
          async () => {
            const state = await lxd.getInstanceState(name, { signal });
            if (!state)
              throw ApplicationFailure.nonRetryable(
                `Instance ${name} does not exist (any more) in project ${project}`,
                FailureType.LxdApi,
              );
            const nics = state.network ?? {};
            const nic = nics[DATA_NIC] ?? nics.eth0;
            return nic?.addresses.find((a) => a.family === 'inet' && a.scope === 'global')?.address;
          },
          {
            timeoutMs,
            what: `${name} to get an IPv4 address on ${DATA_NIC} (is DHCP answering on its network?)`,
            signal,
            onWait: (ms) => (waited = ms),
          },
        );
        return { address };
      },
    );
  }

  /**
   * Authorizes the operator's key for `ubuntu` through the LXD files API, for
   * images without cloud-init. When the image has no such user yet,
   * cloud-init (from the profile) creates it with the key: nothing to do.
   */
  async function authorizeOperatorKey(
    remote: string,
    project: string,
    name: string,
    publicKey: string,
  ): Promise<{ written: boolean }> {
    return onRemote(
      remote,
      project,
      () => ({ authorizing: name }),
      async (lxd, signal) => {
        const passwd = await pollUntil(
          async () => lxd.readInstanceFile(name, '/etc/passwd', { signal }).catch(() => undefined),
          { timeoutMs: 120_000, what: `${name}'s files to be readable`, signal },
        );
        const entry = passwd
          .toString('utf8')
          .split('\n')
          .map((l) => l.split(':'))
          .find((f) => f[0] === INSTANCE_USER);
        if (!entry) return { written: false };
        const [uid, gid, home] = [Number(entry[2]), Number(entry[3]), entry[5] ?? `/home/${INSTANCE_USER}`];
        const file = `${home}/.ssh/authorized_keys`;
        const existing = (await lxd.readInstanceFile(name, file, { signal }))?.toString('utf8') ?? '';
        const keyPart = publicKey.split(/\s+/).slice(0, 2).join(' ');
        if (existing.split('\n').some((l) => l.includes(keyPart))) return { written: false };
        await lxd
          .writeInstanceFile(name, `${home}/.ssh`, { type: 'directory', uid, gid, mode: 0o700 }, { signal })
          .catch((err) => {
            if (!isConflict(err)) throw err;
          });
        const content = `${existing}${existing && !existing.endsWith('\n') ? '\n' : ''}${publicKey}\n`;
        await lxd.writeInstanceFile(name, file, { content: Buffer.from(content), uid, gid, mode: 0o600 }, { signal });
        return { written: true };
      },
    );
  }

  /**
   * Pins the instance's SSH host key, read from its filesystem through the
   * LXD API (authenticated by the pinned server certificate), for the
   * address the worker will connect to. Replaces a key pinned earlier for
   * that address: the API's answer is authoritative, and a rebuilt instance
   * with the same MAC gets the same address but a new key.
   */
  async function pinInstanceHostKey(
    remote: string,
    project: string,
    name: string,
    address: string,
  ): Promise<{ fingerprint: string; replaced: boolean; previousFingerprint?: string }> {
    return onRemote(
      remote,
      project,
      () => ({ hostKey: name }),
      async (lxd, signal) => {
        const pub = await pollUntil(
          async () =>
            lxd.readInstanceFile(name, '/etc/ssh/ssh_host_ed25519_key.pub', { signal }).catch(() => undefined),
          {
            timeoutMs: 180_000,
            what: `${name} to generate its SSH host key (/etc/ssh/ssh_host_ed25519_key.pub)`,
            signal,
          },
        );
        const [type, b64] = pub.toString('utf8').trim().split(/\s+/);
        if (type !== 'ssh-ed25519' || !b64)
          throw ApplicationFailure.nonRetryable(
            `${name}'s /etc/ssh/ssh_host_ed25519_key.pub is not an ed25519 public key`,
            FailureType.Validation,
          );
        const blob = Buffer.from(b64, 'base64');
        const file = paths.knownHosts;
        try {
          return { fingerprint: pinHostKey(file, address, 22, blob).fingerprint, replaced: false };
        } catch (err) {
          if (!(err instanceof HostKeyConflictError)) throw err;
          forgetHostKey(file, address, 22);
          // The old key goes back to the workflow: on an instance this run did not create, a new key is news.
          return {
            fingerprint: pinHostKey(file, address, 22, blob).fingerprint,
            replaced: true,
            previousFingerprint: err.existing.fingerprint,
          };
        }
      },
    );
  }

  /**
   * Polls until SSH on the instance answers with the pinned key and accepts the operator's key
   * (sshd and cloud-init start after the address). Every finished attempt, answered or refused,
   * is progress; each is bounded well inside the stall limit, so an attempt that hangs anyway
   * stalls the step instead of holding it.
   */
  async function waitForInstanceSsh(
    remote: string,
    address: string,
    timeoutMs = 300_000,
  ): Promise<{ fingerprint: string }> {
    const target = instanceTarget(paths, remote, address);
    // Connect, key exchange and authentication of one attempt, plus the poll's gap (at most 2 s), within the stall
    // limit.
    const readyTimeoutMs = Math.max(
      1_000,
      Math.min(10_000, Math.floor(stallLimitMs(Context.current().info.heartbeatTimeoutMs) / 2)),
    );
    let last = '';
    let attempts = 0;
    return withProgress(`waiting for SSH on ${address}`, { waitingForSsh: address }, async (step) => {
      try {
        return await pollUntil(
          async () => {
            try {
              const fingerprint = async ({ hostKey }: SshConnection) => ({ fingerprint: hostKey.fingerprint });
              return await ssh.session(target, fingerprint, { readyTimeoutMs });
            } catch (err) {
              // A changed key is final; anything else (refused, auth not set up yet) may pass.
              if (err instanceof ApplicationFailure && err.type === FailureType.HostKeyMismatch) throw err;
              last = (err as Error).message;
              return undefined;
            } finally {
              step.progress({ waitingForSsh: address, attempts: ++attempts });
            }
          },
          { timeoutMs, what: `SSH on ${address}`, signal: step.signal },
        );
      } catch (err) {
        if (err instanceof ApplicationFailure && err.type === FailureType.Timeout) {
          const message = `${err.message}; last attempt: ${last}`;
          throw ApplicationFailure.create({ message, type: FailureType.Timeout });
        }
        throw err;
      }
    });
  }

  /** ss's `chown ubuntu:ubuntu` of the data and backup mounts (new volumes are root's). */
  async function prepareDataPaths(remote: string, address: string, role: InstanceRole): Promise<{ paths: string[] }> {
    if (role === 'lnplayserver') return { paths: [] };
    const target = instanceTarget(paths, remote, address);
    return ssh.step(`preparing the data paths of ${address}`, target, { preparing: address }, async (s) => {
      await s.runChecked(
        ['sudo', '-n', 'chown', `${INSTANCE_USER}:${INSTANCE_USER}`, DEFAULT_DATA_PATH, DEFAULT_BACKUP_PATH],
        { timeoutMs: 60_000 },
      );
      return { paths: [DEFAULT_DATA_PATH, DEFAULT_BACKUP_PATH] };
    });
  }

  async function recordInstance(
    remote: string,
    deployment: string,
    ready: InstanceReady & { macAddress: string },
  ): Promise<void> {
    const rec = requireRemoteRecord(paths, remote);
    // How `ssw cert`/`ssw backup` find the instance.
    writeInstanceRecord(paths, remote, deployment, ready.role, {
      ssh: {
        host: ready.address,
        port: 22,
        user: INSTANCE_USER,
        ...(rec.ssh.privateKeyPath ? { privateKeyPath: rec.ssh.privateKeyPath } : {}),
        ...(rec.ssh.useAgent ? { useAgent: true } : {}),
      },
      dataPath: DEFAULT_DATA_PATH,
      backupPath: DEFAULT_BACKUP_PATH,
      name: ready.name,
      macAddress: ready.macAddress,
      hostKeyFingerprint: ready.hostKeyFingerprint,
      recordedAt: new Date().toISOString(),
    });
  }

  /**
   * Stops and deletes an instance and its profile, and forgets its host key
   * and record. Its volumes stay (ss-down keeps them unless --purge).
   */
  async function removeInstance(
    remote: string,
    deployment: string,
    name: string,
    role: InstanceRole | undefined,
  ): Promise<{ removed: boolean }> {
    return onRemote(
      remote,
      deployment,
      () => ({ removing: name }),
      async (lxd, signal) => {
        let removed = false;
        const have = await lxd.getInstance(name, { signal });
        if (have) {
          if (have.status !== 'Stopped')
            await lxd.setInstanceState(name, { action: 'stop', timeout: 60, force: true }, { signal });
          await lxd.deleteInstance(name, { signal });
          removed = true;
        }
        if (await lxd.getProfile(name, { signal })) await lxd.deleteProfile(name, { signal });
        if (role) {
          const rec = removeInstanceRecord(paths, remote, deployment, role, name);
          if (rec) forgetHostKey(paths.knownHosts, rec.ssh.host, rec.ssh.port);
        }
        return { removed };
      },
    );
  }

  /** `down --purge`: deletes exactly these volumes of the deployment's project (data is gone). */
  async function deleteVolumes(remote: string, deployment: string, names: string[]): Promise<{ deleted: string[] }> {
    return onRemote(
      remote,
      deployment,
      () => ({ deleting: names }),
      async (lxd, signal) => {
        const deleted: string[] = [];
        for (const name of names) {
          if (!(await lxd.getStorageVolume(STORAGE_POOL, name, { signal }))) continue;
          await lxd.deleteStorageVolume(STORAGE_POOL, name, { signal });
          deleted.push(name);
        }
        return { deleted };
      },
    );
  }

  /**
   * Removes the deployment's network once no instance uses it (ss removes ss-ovn when www and btcpayserver both went
   * down).
   */
  async function removeNetworkIfUnused(
    remote: string,
    network: Pick<DesiredNetwork, 'name' | 'project'>,
  ): Promise<{ removed: boolean; usedBy: string[] }> {
    return onRemote(
      remote,
      network.project,
      () => ({ network: network.name }),
      async (lxd, signal) => {
        const have = await lxd.getNetwork(network.name, { signal });
        if (!have) return { removed: false, usedBy: [] };
        const usedBy = (have.used_by ?? []).filter((u) => u.startsWith('/1.0/instances/'));
        if (usedBy.length) return { removed: false, usedBy };
        await lxd.deleteNetwork(network.name, { signal });
        return { removed: true, usedBy: [] };
      },
    );
  }

  /**
   * `down --purge`, last: deletes the deployment's LXD project once it holds
   * nothing (its own default profile aside). Anything left in it (an instance
   * skipped with --skip-*, a volume or image someone added) keeps it, named.
   */
  async function deleteProjectIfEmpty(remote: string, project: string): Promise<{ deleted: boolean; holds: string[] }> {
    return onRemote(
      remote,
      undefined,
      () => ({ project }),
      async (lxd, signal) => {
        if (project === 'default') return { deleted: false, holds: ['the default project'] }; // never deletable
        const contents = async (): Promise<string[] | undefined> => {
          const have = await lxd.getProject(project, { signal });
          if (!have) return undefined;
          const used = (have.used_by ?? []).filter((u) => !/^\/1\.0\/profiles\/default(\?|$)/.test(u)).map(describeUse);
          // Custom volumes, listed as well: used_by need not name them on every LXD version.
          const pool = (await lxd.getStoragePool(STORAGE_POOL, { signal }))
            ? await lxd.withProject(project).listStorageVolumes(STORAGE_POOL, { signal })
            : [];
          const volumes = pool.map((v) => `storage-pools/${STORAGE_POOL}/volumes/custom/${v.name}`);
          return [...new Set([...used, ...volumes])].sort();
        };
        const holds = await contents();
        if (!holds) return { deleted: false, holds: [] };
        if (holds.length) return { deleted: false, holds };
        try {
          await lxd.deleteProject(project, { signal });
        } catch (err) {
          // LXD refuses a project that is not empty: something arrived in between, or a kind
          // of object not listed above. The project stays, saying why; the purge itself is done.
          const now = await contents();
          if (!now) return { deleted: true, holds: [] };
          return { deleted: false, holds: now.length ? now : [`LXD refused to delete it: ${(err as Error).message}`] };
        }
        return { deleted: true, holds: [] };
      },
    );
  }

  return {
    deleteProjectIfEmpty,
    planDeployment,
    ensureProject,
    ensureNetwork,
    ensureBaseImage,
    ensureProfile,
    ensureVolumes,
    ensureInstance,
    waitForInstanceAddress,
    authorizeOperatorKey,
    pinInstanceHostKey,
    waitForInstanceSsh,
    prepareDataPaths,
    recordInstance,
    removeInstance,
    deleteVolumes,
    removeNetworkIfUnused,
  };
}

function sorted(o: Record<string, string> = {}): [string, string][] {
  return Object.entries(o)
    .filter(([k]) => !k.startsWith('volatile.'))
    .sort(([a], [b]) => a.localeCompare(b));
}

function sortedDevices(d: Record<string, Record<string, string>> = {}): [string, [string, string][]][] {
  return Object.entries(d)
    .map(([k, v]) => [k, sorted(v)] as [string, [string, string][]])
    .sort(([a], [b]) => a.localeCompare(b));
}

/** "/1.0/instances/www-example-com?project=public" → "instances/www-example-com". */
function describeUse(url: string): string {
  return decodeURIComponent(url.replace(/^\/1\.0\//, '').replace(/\?.*$/, ''));
}
