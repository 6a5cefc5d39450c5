import type { Client } from '@temporalio/client';
import type { CliIO } from './io';
import type { OperationName } from '../common/temporal/operations';
import type { OperationResult } from '../workflows/operations';
import type { StartRequest } from './start-operation';

/**
 * Asking a read-only workflow (showDeployment, describeRemote) and waiting for
 * its answer, quietly: no "Started" line and no progress, so the command's
 * output is only what it reports. A run that fails rejects with ReadFailed,
 * carrying the message of the step that failed (what the command reports).
 */
export class ReadFailed extends Error {}

export async function askReadOnly<K extends 'show' | ('describe-remote' & OperationName)>(
  client: Client,
  io: CliIO,
  req: StartRequest<K>,
): Promise<OperationResult<K>> {
  const { startOperation } = await import('./start-operation');
  const { hasWorker } = await import('./follow');
  const { handle } = await startOperation(client, req);
  if (!(await hasWorker(client, req.taskQueue))) {
    io.err(
      `No worker is polling task queue "${req.taskQueue}": ` +
        'the operation waits until one starts ("ssw worker" or "ssw dev").',
    );
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
