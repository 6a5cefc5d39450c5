import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { tsToMs, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { UserError } from '../common/errors';
import {
  conflictingWorkflowIds,
  isExclusive,
  OPERATIONS,
  runningExclusiveQuery,
  workflowIdFor,
  type OperationName,
  type OperationSpec,
  type OperationTarget,
  type TargetOf,
} from '../common/temporal/operations';
import type { ScheduleDefinition, ScheduleInputs, ScheduleKind } from '../common/temporal/schedules';
import { operationSearchAttributes } from '../common/temporal/search-attributes';
import { certOperationTarget } from '../common/tls/plan';
import type { OperationInput, OperationWorkflow } from '../workflows/operations';

/**
 * A start of `operation` on `target`: the input is the operation's workflow's
 * own input type, and the handle's result its result type (workflows/operations.ts).
 */
export interface StartRequest<K extends OperationName = OperationName> {
  operation: K;
  target: TargetOf<K>;
  input: OperationInput<K>;
  taskQueue: string;
}

export interface Started<K extends OperationName = OperationName> {
  handle: WorkflowHandle<OperationWorkflow<K>>;
  /** True when the same operation was already running and we attached to it. */
  attached: boolean;
}

/**
 * Starts an operation under its deterministic ID. The same operation on the
 * same target attaches to the running one; another exclusive operation on the
 * target is refused, naming what runs and how to follow or cancel it.
 */
export async function startOperation<K extends OperationName>(
  client: Client,
  req: StartRequest<K>,
): Promise<Started<K>> {
  const spec: OperationSpec = OPERATIONS[req.operation];
  const base = workflowIdFor(req.operation, req.target);
  const workflowId = spec.ids === 'per-run' ? `${base}/${randomUUID()}` : base;
  await refuseConflicts(client, req);
  type W = OperationWorkflow<K>;
  try {
    const handle = await client.workflow.start<W>(OPERATIONS[req.operation].workflowType, {
      workflowId,
      taskQueue: req.taskQueue,
      // The one input the workflow takes; tsc cannot see through the generic K that it is all of Parameters<W>.
      args: [req.input] as Parameters<W>,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: operationSearchAttributes(req.operation, req.target),
    });
    return { handle, attached: false };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      return { handle: client.workflow.getHandle<W>(workflowId), attached: true };
    }
    throw err;
  }
}

/**
 * The action of a Schedule that starts `operation` on `target` (its runs get
 * the Schedule's timestamp after this ID): typed and tagged as startOperation's.
 */
export function scheduleAction<K extends OperationName>(req: StartRequest<K> & { workflowId: string }) {
  return {
    type: 'startWorkflow' as const,
    workflowType: OPERATIONS[req.operation].workflowType,
    workflowId: req.workflowId,
    taskQueue: req.taskQueue,
    args: [req.input] as Parameters<OperationWorkflow<K>>,
    typedSearchAttributes: operationSearchAttributes(req.operation, req.target),
  };
}

// Each schedule's input (declared in common/, which cannot see workflow types) is what its
// workflow takes, with no field the workflow does not know: this fails to compile otherwise.
type Fits<S, W> = [S] extends [W] ? ([Exclude<keyof S, keyof W>] extends [never] ? true : false) : false;
type MustBe<T extends true> = T;
export type ScheduleInputsFitTheirWorkflows = MustBe<
  { [K in ScheduleKind]: Fits<ScheduleInputs[K], OperationInput<K>> }[ScheduleKind]
>;

/** The action of one of ssw's Schedules (common/temporal/schedules.ts): its runs' workflow, input and tags. */
export function scheduleActionFor(def: ScheduleDefinition, taskQueue: string) {
  return scheduleAction({
    operation: def.kind,
    target: certOperationTarget(def.input.target),
    // Checked per kind by ScheduleInputsFitTheirWorkflows; tsc does not correlate the union's members here.
    input: def.input as OperationInput<ScheduleKind>,
    workflowId: def.scheduleId,
    taskQueue,
  });
}

/**
 * Refuses, naming the running run, when another exclusive operation runs on the
 * request's target. startOperation checks this itself; a command that writes
 * local state before it starts (a pinned key, a stub) calls it first, so a
 * refusal leaves nothing behind.
 */
export async function refuseConflicts(
  client: Client,
  req: { operation: OperationName; target: OperationTarget },
): Promise<void> {
  const { isGrpcServiceError } = await import('@temporalio/client');
  const { temporal } = await import('@temporalio/proto');
  for (const id of conflictingWorkflowIds(req.operation, req.target)) {
    // The raw call, not handle.describe(): the lock needs status and start time only,
    // and must not depend on decrypting another run's memo.
    let info;
    try {
      info = (
        await client.workflowService.describeWorkflowExecution({
          namespace: client.options.namespace,
          execution: { workflowId: id },
        })
      ).workflowExecutionInfo;
    } catch (err) {
      if (isGrpcServiceError(err) && err.code === 5 /* NOT_FOUND */) continue; // never ran: no conflict
      throw err; // can't tell: never start blind
    }
    if (info?.status === temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING) {
      refuse(req, id, new Date(info.startTime ? tsToMs(info.startTime) : 0));
    }
  }
  // Runs whose IDs are open-ended: a remote-wide operation (e.g. provisioning) under a
  // deployment operation, and runs started by a Schedule (their IDs carry a timestamp).
  // Ask visibility: it lags by a moment, which the per-ID checks above do not.
  if (isExclusive(req.operation)) {
    const query = runningExclusiveQuery(req.target);
    const page = await client.workflowService.listWorkflowExecutions({
      namespace: client.options.namespace,
      query,
      pageSize: 5,
    });
    const other = (page.executions ?? []).find(
      (e) => e.execution?.workflowId !== workflowIdFor(req.operation, req.target),
    );
    if (other?.execution?.workflowId) {
      const started = new Date(other.startTime ? tsToMs(other.startTime) : 0);
      refuse(req, other.execution.workflowId, started);
    }
  }
}

function refuse(req: { target: OperationTarget }, id: string, started: Date): never {
  throw new UserError(
    `Another operation is running on ${describeTarget(req.target)}: ${id} (started ${started.toISOString()}). ` +
      `Follow it with "ssw status ${id} --follow" or cancel it with "ssw cancel ${id}", then run this command again.`,
  );
}

export function describeTarget(t: OperationTarget): string {
  return t.deployment ? `deployment ${t.deployment} on remote ${t.remote}` : `remote ${t.remote}`;
}
