import { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { UserError } from '../common/errors';
import { conflictingWorkflowIds, OperationTarget, workflowIdFor } from '../common/temporal/operations';
import { SsDeployment, SsOperation, SsRemote, SsSite } from '../common/temporal/search-attributes';

export interface StartRequest {
  operation: string;
  workflowType: string;
  target: OperationTarget;
  args: unknown[];
  taskQueue: string;
}

export interface Started {
  handle: WorkflowHandle;
  /** True when the same operation was already running and we attached to it. */
  attached: boolean;
}

/**
 * Starts an operation under its deterministic ID. The same operation on the
 * same target attaches to the running one; another exclusive operation on the
 * target is refused, naming what runs and how to follow or cancel it.
 */
export async function startOperation(client: Client, req: StartRequest): Promise<Started> {
  const workflowId = workflowIdFor(req.operation, req.target);
  await refuseConflicts(client, req);
  try {
    const handle = await client.workflow.start(req.workflowType, {
      workflowId,
      taskQueue: req.taskQueue,
      args: req.args,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: SsOperation, value: req.operation },
        { key: SsRemote, value: req.target.remote },
        ...(req.target.deployment ? [{ key: SsDeployment, value: req.target.deployment }] : []),
        ...(req.target.site ? [{ key: SsSite, value: req.target.site }] : []),
      ],
    });
    return { handle, attached: false };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      return { handle: client.workflow.getHandle(workflowId), attached: true };
    }
    throw err;
  }
}

async function refuseConflicts(client: Client, req: StartRequest): Promise<void> {
  for (const id of conflictingWorkflowIds(req.operation, req.target)) {
    let desc;
    try {
      desc = await client.workflow.getHandle(id).describe();
    } catch {
      continue; // never ran: no conflict
    }
    if (desc.status.name === 'RUNNING') {
      throw new UserError(
        `Another operation is running on ${describeTarget(req.target)}: ${id} (started ${desc.startTime.toISOString()}). ` +
          `Follow it with "ssw status ${id} --follow" or cancel it with "ssw cancel ${id}", then run this command again.`,
      );
    }
  }
}

export function describeTarget(t: OperationTarget): string {
  return t.deployment ? `deployment ${t.deployment} on remote ${t.remote}` : `remote ${t.remote}`;
}
