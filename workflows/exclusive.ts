import { workflowInfo } from '@temporalio/workflow';
import type { OperationTarget } from '../common/temporal/operations';
import { turn } from './activity-options';
import type { Progress } from './progress';

const { waitForExclusiveTurn } = turn;

export const WAIT_STEP = 'Wait for earlier operations on this target to finish';

/**
 * The first step of every operation that changes a target: wait until the
 * exclusive operations that started on it before this one have finished. The
 * CLI refuses such overlaps up front; this catches the runs it never sees
 * (Schedules) and those started at the same instant.
 */
export async function waitForTurn(progress: Progress, target: OperationTarget): Promise<void> {
  // A child (the certificates or backup step of `ssw up`) runs inside its parent's turn: waiting for it would never
  // end.
  const parent = workflowInfo().parent;
  if (parent) {
    progress.skip(WAIT_STEP, `a step of ${parent.workflowId}, which holds the turn`);
    return;
  }
  const { waitedFor } = await progress.step(WAIT_STEP, () =>
    waitForExclusiveTurn({ target, startedAt: workflowInfo().startTime.toISOString() }),
  );
  progress.detail(WAIT_STEP, waitedFor.length ? `waited for ${waitedFor.join(', ')}` : 'none was running');
}
