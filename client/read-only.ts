import type { Client } from '@temporalio/client';
import type { CliIO } from './io';
import type { OperationName } from '../common/temporal/operations';
import type { OperationResult } from '../workflows/operations';
import type { StartRequest } from './start-operation';

/**
 * Asking a read-only workflow (showDeployment, describeRemote, btcpayStatus) and waiting for
 * its answer, quietly: no "Started" line and no progress, so the command's
 * output is only what it reports. A run that fails rejects with ReadFailed,
 * carrying the message of the step that failed (what the command reports).
 */
export class ReadFailed extends Error {}

export async function askReadOnly<K extends 'show' | 'btcpay-status' | ('describe-remote' & OperationName)>(
  client: Client,
  io: CliIO,
  req: StartRequest<K>,
  opts: {
    /** How long a question waits for a worker to appear before it is withdrawn (an operation waits for good). */
    noWorkerWaitMs?: number;
  } = {},
): Promise<OperationResult<K>> {
  const { startOperation } = await import('./start-operation');
  const { hasWorker } = await import('./follow');
  const { handle } = await startOperation(client, req);
  // An operation waits for a worker for good (it is durable work); a question at the
  // terminal does not: with nobody to read the remote, the operator hears so and the
  // run is withdrawn, instead of a command that hangs.
  const waitMs = opts.noWorkerWaitMs ?? 20_000;
  const until = Date.now() + waitMs;
  let told = false;
  while (!(await hasWorker(client, req.taskQueue))) {
    if (!told) {
      io.err(`No worker is polling task queue "${req.taskQueue}": waiting ${Math.round(waitMs / 1000)} s for one.`);
      told = true;
    }
    if (Date.now() >= until) {
      await handle.terminate('no worker to answer the question').catch(() => undefined);
      const { UserError } = await import('../common/errors');
      throw new UserError(
        `No worker is polling task queue "${req.taskQueue}", so nothing can read the remote for this command. ` +
          'Start one ("ssw dev", or "ssw worker" with the same --task-queue) and run the command again.',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  try {
    return (await handle.result()) as OperationResult<K>;
  } catch (err) {
    const { WorkflowFailedError } = await import('@temporalio/client');
    if (err instanceof WorkflowFailedError) throw new ReadFailed(await rootCause(err));
    throw err;
  }
}

/** The message of the failure at the end of a failed run's cause chain. */
async function rootCause(err: Error): Promise<string> {
  const { TemporalFailure } = await import('@temporalio/common');
  let cur: unknown = err.cause;
  let last: Error = err;
  while (cur instanceof TemporalFailure) {
    last = cur;
    cur = cur.cause;
  }
  return last.message;
}
