import { LxdClient } from '../../activities/lxd/client';
import { loadOrCreateClientCert } from '../../activities/lxd/client-cert';
import { ssBridges } from '../../common/backend';
import type { SsPaths } from '../../common/paths';
import { backendUnderTest, type HarnessDaemon } from './harness';

/**
 * The harness LXD (or Incus, when it is the backend under test) over its unix socket: what the
 * host really has, independent of ssw's view.
 */
export function harnessLxd(daemon: HarnessDaemon = backendUnderTest()): LxdClient {
  return new LxdClient({ endpoint: { socketPath: daemon.socket } });
}

/** Deletes a deployment's project with everything in it (instances, profiles, volumes) and its bridge. */
export async function removeDeploymentProject(lxd: LxdClient, project: string): Promise<void> {
  if (!(await lxd.getProject(project))) return;
  const p = lxd.withProject(project);
  for (const i of await p.listInstances()) {
    if (i.status !== 'Stopped') await p.setInstanceState(i.name, { action: 'stop', force: true, timeout: 30 });
    await p.deleteInstance(i.name);
  }
  for (const pr of await p.listProfiles()) if (pr.name !== 'default') await p.deleteProfile(pr.name);
  if (await lxd.getStoragePool('ss-base'))
    for (const v of await p.listStorageVolumes('ss-base')) await p.deleteStorageVolume('ss-base', v.name);
  await lxd.deleteProject(project);
  const bridge = `ss-${project}`.slice(0, 15);
  if (bridge === `ss-${project}` && (await lxd.getNetwork(bridge))) await lxd.deleteNetwork(bridge);
}

/**
 * Puts the harness LXD (or Incus: `daemon`, default the backend under test) back as the harness
 * made it: no ssw bridges or pool, root disk on "default", this machine's certificate untrusted,
 * the API on the harness's address. Deployment projects named in `projects` go first (the pool
 * cannot go while their volumes exist).
 */
export async function resetHarnessLxd(
  lxd: LxdClient,
  paths: SsPaths,
  projects: string[] = [],
  daemon: HarnessDaemon = backendUnderTest(),
): Promise<void> {
  for (const project of projects) await removeDeploymentProject(lxd, project);
  const profile = await lxd.getProfile('default');
  const { 'user.ssw.previous_root': _remembered, ...config } = profile?.config ?? {};
  if (profile?.devices?.root?.pool !== 'default' || _remembered !== undefined) {
    await lxd.putProfile('default', {
      config,
      description: profile?.description ?? '',
      devices: { ...(profile?.devices ?? {}), root: { path: '/', pool: 'default', type: 'disk' } },
    });
  }
  const { nat, ovn } = ssBridges(daemon.backend);
  for (const n of [ovn, nat]) if (await lxd.getNetwork(n)) await lxd.deleteNetwork(n);
  if (await lxd.getStoragePool('ss-base')) {
    // Images ssw built (the weekly base image) live outside the pool on a dir pool, but a builder left by a killed run
    // is inside.
    for (const i of await lxd.listInstances()) {
      if (!i.name.startsWith('ssw-build-')) continue;
      if (i.status !== 'Stopped') await lxd.setInstanceState(i.name, { action: 'stop', force: true, timeout: 30 });
      await lxd.deleteInstance(i.name);
    }
    await lxd.deleteStoragePool('ss-base');
  }
  const cert = await loadOrCreateClientCert(paths);
  if (await lxd.getCertificate(cert.fingerprint)) await lxd.deleteCertificate(cert.fingerprint);
  await lxd.patchServer({ config: { 'core.https_address': daemon.httpsAddress } });
}
