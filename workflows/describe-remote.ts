import { proxyActivities } from '@temporalio/workflow';
import type { SswActivities } from '../activities';
import type { DescribeRemoteOptions, RemoteDescription } from '../activities/remote/describe';
import { NON_RETRYABLE_FAILURE_TYPES } from '../common/failure-types';

/**
 * describeRemote (`ssw remote list|show|remove`): what a provisioned
 * remote's LXD has, read by a worker (the CLI never talks to LXD itself).
 * Read-only and not exclusive; one attempt, so an unreachable remote is
 * reported at once, as the CLI reported it when it asked LXD directly.
 */
export interface DescribeRemoteInput extends DescribeRemoteOptions {
  remote: string;
}

export type DescribeRemoteResult = RemoteDescription;

const { describeRemote: readRemote } = proxyActivities<SswActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 1, nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES },
});

export async function describeRemote({ remote, ...o }: DescribeRemoteInput): Promise<DescribeRemoteResult> {
  return readRemote(remote, o);
}
