import type { DescribeRemoteOptions, RemoteDescription } from '../activities/remote/describe';
import { remoteRead } from './activity-options';

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

export async function describeRemote({ remote, ...o }: DescribeRemoteInput): Promise<DescribeRemoteResult> {
  return remoteRead.describeRemote(remote, o);
}
