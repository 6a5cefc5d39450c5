import { proxyActivities, type RetryPolicy } from '@temporalio/workflow';
import type { SswActivities } from '../activities';
import { NON_RETRYABLE_FAILURE_TYPES } from '../common/failure-types';
import { Progress } from './progress';

/**
 * deprovisionRemote: undo on the host what provisionRemote did (`ssw remote
 * remove --deprovision --yes`). Refuses while deployments remain.
 */
const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8, nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES };
const lxd = proxyActivities<SswActivities>({ startToCloseTimeout: '5 minutes', retry });

const STEPS = {
  check: 'Check that no deployments remain',
  bridges: 'Remove the bridges lxdbr0 and lxdbr1',
  pool: 'Remove the storage pool ss-base',
  trust: "Revoke this machine's certificate",
};

export async function deprovisionRemote({ remote }: { remote: string }): Promise<{ bridges: string[]; pool: boolean; revoked: boolean }> {
  const progress = Progress.start('deprovision-remote', { remote }, Object.values(STEPS));
  await progress.step(STEPS.check, () => lxd.checkNoDeployments(remote));
  const bridges = await progress.step(STEPS.bridges, () => lxd.removeBridges(remote));
  const pool = await progress.step(STEPS.pool, () => lxd.removeStoragePool(remote));
  const revoked = await progress.step(STEPS.trust, () => lxd.revokeManagementCertificate(remote));
  progress.finish();
  return { bridges, pool, revoked };
}
