import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../../common/failure-types';
import type { SsPaths } from '../../common/paths';
import { readRemoteRecord } from '../../common/remotes';
import type { LxdClient } from '../lxd/client';
import type { LxdConnector } from '../lxd/connector';
import { ssBridges } from '../../common/backend';
import { CREATED_KEY, POOL_DESCRIPTION, PREVIOUS_ROOT_KEY, STORAGE_POOL } from '../../common/remote-setup';

/**
 * Undoing `remote add` on the host, over HTTPS with the recorded pins. Each
 * step checks first, so a retry after a partial run finishes the rest.
 * LXD and its packages stay installed; so does core.https_address (the
 * host may have had it before), which the operator can unset by hand.
 */
export function createDeprovisionActivities({ paths, lxd }: { paths: SsPaths; lxd: LxdConnector }) {
  async function withApi<T>(
    remote: string,
    fn: (api: LxdClient, rec: NonNullable<ReturnType<typeof readRemoteRecord>>) => Promise<T>,
  ): Promise<T> {
    const rec = readRemoteRecord(paths, remote);
    if (!rec)
      throw ApplicationFailure.nonRetryable(
        `Remote ${remote} has no record (${paths.remoteRecord(remote)}).`,
        FailureType.Config,
      );
    const api = await lxd.remote(rec);
    try {
      return await fn(api, rec);
    } finally {
      api.close();
    }
  }

  /** Deprovisioning never takes deployments with it. */
  async function checkNoDeployments(remote: string): Promise<void> {
    await withApi(remote, async (api) => {
      const projects = (await api.listProjects()).map((p) => p.name).filter((n) => n !== 'default');
      const instances = await api.listInstances({ allProjects: true });
      if (projects.length || instances.length) {
        throw ApplicationFailure.nonRetryable(
          `${remote} still has ${projects.length ? `deployments ${projects.join(', ')}` : ''}${projects.length && instances.length ? ' and ' : ''}${instances.length ? `${instances.length} instance(s)` : ''}; bring them down first.`,
          FailureType.Validation,
        );
      }
    });
  }

  /** Only bridges ssw created; all checked unused before any is deleted, so a refusal changes nothing. */
  async function removeBridges(remote: string): Promise<string[]> {
    return withApi(remote, async (api, rec) => {
      const ours = [];
      const bridges = ssBridges(rec.backend);
      for (const name of [bridges.ovn, bridges.nat]) {
        const net = await api.getNetwork(name);
        if (net?.config?.[CREATED_KEY] === 'true') ours.push(net);
      }
      const busy = ours.filter((n) => (n.used_by ?? []).length > 0);
      if (busy.length) {
        throw ApplicationFailure.nonRetryable(
          `${busy.map((n) => `${n.name} is used by ${(n.used_by ?? []).join(', ')}`).join('; ')}; nothing was removed.`,
          FailureType.Validation,
        );
      }
      for (const net of ours) await api.deleteNetwork(net.name);
      return ours.map((n) => n.name);
    });
  }

  /**
   * The default profile's root disk goes back to where it was before `remote
   * add` (or away, if it had none) first: LXD refuses to delete a pool a
   * profile uses.
   */
  async function removeStoragePool(remote: string): Promise<boolean> {
    return withApi(remote, async (api) => {
      const profile = await api.getProfile('default');
      const pool = await api.getStoragePool(STORAGE_POOL);
      const ourPool = pool?.description === POOL_DESCRIPTION;
      // The root disk change is ssw's when the host remembers it (or ssw made the pool it points at).
      const ourRootChange = profile?.config?.[PREVIOUS_ROOT_KEY] !== undefined || ourPool;
      if (ourRootChange && profile?.devices?.root?.pool === STORAGE_POOL) {
        const { root: _root, ...others } = profile.devices;
        const { [PREVIOUS_ROOT_KEY]: remembered, ...config } = profile.config ?? {};
        let previous: Record<string, string> | undefined;
        try {
          previous = remembered ? (JSON.parse(remembered) as Record<string, string>) : undefined;
        } catch {
          previous = undefined; // unreadable memory: leave the profile without a root disk rather than guess
        }
        const restore: Record<string, Record<string, string>> = previous?.pool &&
        previous.pool !== STORAGE_POOL &&
        (await api.getStoragePool(previous.pool))
          ? { root: previous }
          : {};
        await api.putProfile('default', {
          config,
          description: profile.description ?? '',
          devices: { ...others, ...restore },
        });
      }
      if (!pool || !ourPool) return false; // none, or the operator's from before ssw: theirs to keep
      await api.deleteStoragePool(STORAGE_POOL);
      return true;
    });
  }

  /** Last: afterwards this machine can no longer reach the API. */
  async function revokeManagementCertificate(remote: string): Promise<boolean> {
    const cert = await lxd.clientCert();
    return withApi(remote, async (api) => {
      if ((await api.server()).auth !== 'trusted') return false;
      await api.deleteCertificate(cert.fingerprint);
      return true;
    });
  }

  return { checkNoDeployments, removeBridges, removeStoragePool, revokeManagementCertificate };
}
