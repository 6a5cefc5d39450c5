import { Context } from '@temporalio/activity';
import type { WorkflowService } from '@temporalio/client';
import { tsToMs } from '@temporalio/common';
import { pollBeating } from '../heartbeat';
import { runningExclusiveQuery, type OperationTarget } from '../../common/temporal/operations';

/**
 * Temporal's own visibility, seen from inside a workflow's run. The CLI
 * refuses a second exclusive operation on a target, but runs started by a
 * Schedule (a nightly backup, a daily renewal) or at the same instant never
 * pass through it: each exclusive workflow therefore waits here until the
 * operations on its target that started before it have finished.
 */
export interface VisibilityDeps {
  workflowService: WorkflowService;
  namespace: string;
}

export interface TurnRequest {
  target: OperationTarget;
  /** The run's own start time (workflowInfo().startTime), to know who came first. */
  startedAt: string;
}

export function createTemporalActivities(deps: { visibility?: VisibilityDeps }) {
  /**
   * Polls (heartbeating) until no exclusive operation that started earlier runs on the target; returns who it waited
   * for.
   */
  async function waitForExclusiveTurn(req: TurnRequest): Promise<{ waitedFor: string[] }> {
    const ctx = Context.current();
    const v = deps.visibility;
    if (!v) return { waitedFor: [] }; // a worker without a Temporal connection for visibility (stand-alone tests)
    const self = ctx.info.workflowExecution?.workflowId ?? '';
    const query = runningExclusiveQuery(req.target);
    const mine = Date.parse(req.startedAt);
    const waitedFor = new Set<string>();
    return pollBeating(
      async () => {
        const page = await v.workflowService.listWorkflowExecutions({ namespace: v.namespace, query, pageSize: 50 });
        const before = (page.executions ?? []).filter((e) => {
          const id = e.execution?.workflowId ?? '';
          if (id === self) return false;
          const started = e.startTime ? tsToMs(e.startTime) : 0;
          return started < mine || (started === mine && id < self); // earlier, or the same instant and first by ID
        });
        if (before.length === 0) return { waitedFor: [...waitedFor] };
        for (const e of before) waitedFor.add(e.execution?.workflowId ?? '');
        return undefined;
      },
      { details: () => ({ waitingFor: [...waitedFor] }), firstGapMs: 1_000, maxGapMs: 15_000 },
    );
  }
  return { waitForExclusiveTurn };
}
