import { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { UserError } from '../common/errors';
import { conflictingWorkflowIds, EXCLUSIVE_OPERATIONS, OperationTarget, workflowIdFor } from '../common/temporal/operations';
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

/**
 * Refuses, naming the running run, when another exclusive operation runs on the
 * request's target. startOperation checks this itself; a command that writes
 * local state before it starts (a pinned key, a stub) calls it first, so a
 * refusal leaves nothing behind.
 */
export async function refuseConflicts(client: Client, req: Pick<StartRequest, 'operation' | 'target'>): Promise<void> {
  const { isGrpcServiceError } = await import('@temporalio/client');
  const { temporal } = await import('@temporalio/proto');
  for (const id of conflictingWorkflowIds(req.operation, req.target)) {
    // The raw call, not handle.describe(): the lock needs status and start time only,
    // and must not depend on decrypting another run's memo.
    let info;
    try {
      info = (await client.workflowService.describeWorkflowExecution({ namespace: client.options.namespace, execution: { workflowId: id } })).workflowExecutionInfo;
    } catch (err) {
      if (isGrpcServiceError(err) && err.code === 5 /* NOT_FOUND */) continue; // never ran: no conflict
      throw err; // can't tell: never start blind
    }
    if (info?.status === temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING) {
      refuse(req, id, new Date(Number(info.startTime?.seconds ?? 0) * 1000));
    }
  }
  // Runs whose IDs are open-ended: a remote-wide operation (e.g. provisioning) under a
  // deployment operation, and runs started by a Schedule (their IDs carry a timestamp).
  // Ask visibility: it lags by a moment, which the per-ID checks above do not.
  if ((EXCLUSIVE_OPERATIONS as readonly string[]).includes(req.operation)) {
    const ops = EXCLUSIVE_OPERATIONS.map((o) => `"${o}"`).join(', ');
    const scope = req.target.deployment ? ` AND (SsDeployment = "${req.target.deployment}" OR SsDeployment IS NULL)` : '';
    const query = `SsRemote = "${req.target.remote}"${scope} AND SsOperation IN (${ops}) AND ExecutionStatus = "Running"`;
    const page = await client.workflowService.listWorkflowExecutions({ namespace: client.options.namespace, query, pageSize: 5 });
    const other = (page.executions ?? []).find((e) => e.execution?.workflowId !== workflowIdFor(req.operation, req.target));
    if (other?.execution?.workflowId) {
      const started = new Date(Number(other.startTime?.seconds ?? 0) * 1000);
      refuse(req, other.execution.workflowId, started);
    }
  }
}

function refuse(req: Pick<StartRequest, 'target'>, id: string, started: Date): never {
  throw new UserError(
    `Another operation is running on ${describeTarget(req.target)}: ${id} (started ${started.toISOString()}). ` +
      `Follow it with "ssw status ${id} --follow" or cancel it with "ssw cancel ${id}", then run this command again.`,
  );
}

export function describeTarget(t: OperationTarget): string {
  return t.deployment ? `deployment ${t.deployment} on remote ${t.remote}` : `remote ${t.remote}`;
}
