import { ApplicationFailure } from '@temporalio/workflow';
import { FailureType } from '../common/failure-types';
import { isProductionRemote } from '../common/production-remote';

/** The first step of `up` and `down`: a production remote changes only with --yes (`confirmed`). */
export async function refuseUnconfirmedProduction(
  input: { remote: string; confirmed?: boolean },
  command: 'up' | 'down',
): Promise<void> {
  if (isProductionRemote(input.remote) && !input.confirmed) {
    throw ApplicationFailure.nonRetryable(
      `Remote ${input.remote} is a production remote: run "ssw ${command}" with --yes to change it.`,
      FailureType.Validation,
    );
  }
}
