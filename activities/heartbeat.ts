import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';

/**
 * Runs a long step (a command on a host, a CA round trip) heartbeating every
 * few seconds, so a dead worker is noticed within the heartbeat timeout
 * instead of the step's whole length, and a quiet but healthy step is not
 * taken for a dead one. The step gets the activity's cancellation signal; a
 * cancelled step ends as CancelledFailure, not as whatever the abort caused.
 */
export async function whileBeating<T>(details: unknown, fn: (signal: AbortSignal) => Promise<T>, everyMs = 3_000): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(details), everyMs);
  ctx.heartbeat(details);
  try {
    return await fn(ctx.cancellationSignal);
  } catch (err) {
    if (ctx.cancellationSignal.aborted) throw new CancelledFailure(`${ctx.info.activityType} was cancelled`, undefined, err instanceof Error ? err : undefined);
    throw err;
  } finally {
    clearInterval(timer);
  }
}
