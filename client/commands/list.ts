import type { Client } from '@temporalio/client';
import { UserError } from '../../common/errors';
import { withClient } from '../context';
import { defineCommand, type Command } from '../define-command';
import type { CliIO } from '../io';

interface ListArgs {
  deployment?: string;
  remote?: string;
  operation?: string;
  running: boolean;
  limit: number;
}

export interface OperationRow {
  workflowId: string;
  type: string;
  status: string;
  startTime: string;
  closeTime?: string;
}

const NAME = /^(?:[a-z0-9][a-z0-9.:-]*|\[[0-9a-f:.]+\](?::[0-9]+)?)$/;

/** Builds a visibility query from validated names only (no quoting games). */
export function listQuery(a: Pick<ListArgs, 'deployment' | 'remote' | 'operation' | 'running'>): string {
  const clauses: string[] = [];
  for (const [attr, value, flag] of [
    ['SsDeployment', a.deployment, '--deployment'],
    ['SsRemote', a.remote, '--remote'],
    ['SsOperation', a.operation, '--operation'],
  ] as const) {
    if (value === undefined) continue;
    if (!NAME.test(value))
      throw new UserError(`${flag} "${value}" is not a valid name (lowercase letters, digits, ".", ":" and "-").`);
    clauses.push(`${attr} = "${value}"`);
  }
  if (a.running) clauses.push('ExecutionStatus = "Running"');
  return clauses.join(' AND ');
}

/**
 * Lists from visibility through the raw service, not `client.workflow.list`:
 * that one decodes every memo, and one workflow encrypted with a key this
 * machine lacks would make the whole listing fail. A listing needs no secrets.
 */
export async function listOperations(client: Client, query: string, limit: number): Promise<OperationRow[]> {
  const { temporal } = await import('@temporalio/proto');
  const Status = temporal.api.enums.v1.WorkflowExecutionStatus;
  const { tsToMs } = await import('@temporalio/common');
  const time = (t: Parameters<typeof tsToMs>[0]) => (t ? new Date(tsToMs(t)).toISOString() : undefined);
  const rows: OperationRow[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.listWorkflowExecutions({
      namespace: client.options.namespace,
      query,
      pageSize: Math.min(limit - rows.length, 100),
      nextPageToken,
    });
    for (const wf of page.executions ?? []) {
      rows.push({
        workflowId: wf.execution?.workflowId ?? '',
        type: wf.type?.name ?? '',
        status: (Status[wf.status ?? 0] ?? 'UNSPECIFIED').replace('WORKFLOW_EXECUTION_STATUS_', ''),
        startTime: time(wf.startTime) ?? '',
        closeTime: time(wf.closeTime),
      });
      if (rows.length >= limit) return rows;
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return rows;
}

export function printOperations(io: CliIO, rows: OperationRow[], json: boolean, empty: string): void {
  if (json) {
    io.out(JSON.stringify(rows, null, 2));
    return;
  }
  if (rows.length === 0) {
    io.out(empty);
    return;
  }
  const w = Math.max(...rows.map((r) => r.workflowId.length), 11);
  io.out(`${'WORKFLOW ID'.padEnd(w)}  ${'STATUS'.padEnd(10)}  ${'TYPE'.padEnd(20)}  STARTED`);
  for (const r of rows)
    io.out(`${r.workflowId.padEnd(w)}  ${r.status.padEnd(10)}  ${r.type.padEnd(20)}  ${r.startTime}`);
}

export function listCommand(io: CliIO): Command {
  return defineCommand({
    command: 'list',
    describe: 'List recent operations (newest first)',
    builder: (y) =>
      y.options({
        deployment: { type: 'string', describe: 'Only this deployment' },
        remote: { type: 'string', describe: 'Only this remote' },
        operation: { type: 'string', describe: 'Only this operation (up, down, backup, ...)' },
        running: { type: 'boolean', default: false, describe: 'Only running operations' },
        limit: { type: 'number', default: 20, describe: 'At most this many' },
      }),
    handler: async (args) =>
      withClient(args, async (client) => {
        const rows = await listOperations(client, listQuery(args), args.limit);
        printOperations(io, rows, args.json, 'No operations found.');
      }),
  });
}
