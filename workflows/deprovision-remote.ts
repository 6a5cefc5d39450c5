import { lxdTeardown as lxd } from './activity-options';
import { Progress } from './progress';

/**
 * deprovisionRemote: undo on the host what provisionRemote did (`ssw remote
 * remove --deprovision --yes`). Refuses while deployments remain.
 */
const STEPS = {
  check: 'Check that no deployments remain',
  bridges: 'Remove the bridges ssw created (lxdbr0 and lxdbr1; incusbr0 and incusbr1 on Incus)',
  pool: 'Remove the storage pool ss-base',
  trust: "Revoke this machine's certificate",
};

export async function deprovisionRemote({
  remote,
}: {
  remote: string;
}): Promise<{ bridges: string[]; pool: boolean; revoked: boolean }> {
  const progress = Progress.start('deprovision-remote', { remote }, Object.values(STEPS));
  await progress.step(STEPS.check, () => lxd.checkNoDeployments(remote));
  const bridges = await progress.step(STEPS.bridges, () => lxd.removeBridges(remote));
  const pool = await progress.step(STEPS.pool, () => lxd.removeStoragePool(remote));
  const revoked = await progress.step(STEPS.trust, () => lxd.revokeManagementCertificate(remote));
  progress.finish();
  return { bridges, pool, revoked };
}
