import { FailureType } from '../common/failure-types';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls a real condition until it holds: no fixed sleeps. The gap between
 * checks starts at 250 ms and doubles to 2 s, so a fast condition is seen
 * fast and a slow one does not hammer the server. Throws a retryable
 * timeout failure naming what was awaited.
 */
export async function pollUntil<T>(
  check: () => Promise<T | undefined | false>,
  o: { timeoutMs: number; what: string; signal?: AbortSignal; onWait?: (elapsedMs: number) => void },
): Promise<T> {
  const start = Date.now();
  let gap = 250;
  for (;;) {
    if (o.signal?.aborted) throw new CancelledFailure(`waiting for ${o.what} was cancelled`);
    const result = await check();
    if (result !== undefined && result !== false) return result;
    const elapsed = Date.now() - start;
    if (elapsed >= o.timeoutMs) {
      throw ApplicationFailure.create({
        message: `Timed out after ${Math.round(elapsed / 1000)} s waiting for ${o.what}`,
        type: FailureType.Timeout,
      });
    }
    o.onWait?.(elapsed);
    await delay(Math.min(gap, o.timeoutMs - elapsed), undefined, { signal: o.signal }).catch(() => undefined);
    gap = Math.min(gap * 2, 2_000);
  }
}
