import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import { withClient } from '../context';
import { defineCommand, type Command } from '../define-command';
import type { CliIO } from '../io';
import { listOperations, printOperations } from './list';

export function statusCommand(io: CliIO): Command {
  return defineCommand({
    command: 'status [id]',
    describe: "Show an operation's progress (or, without ID, the running operations)",
    builder: (y) =>
      y
        .positional('id', { type: 'string', describe: 'Workflow ID, e.g. up/myremote/public' })
        .option('follow', { type: 'boolean', alias: 'f', default: false, describe: 'Follow live until it ends' }),
    handler: async (args) =>
      withClient(args, async (client) => {
        const { followWorkflow } = await import('../follow');
        if (!args.id) {
          const ops = await listOperations(client, 'ExecutionStatus = "Running"', 50);
          printOperations(io, ops, args.json, 'No operation is running.');
          return;
        }
        const handle = client.workflow.getHandle(args.id);
        const desc = await handle.describe();
        if (args.follow && desc.status.name === 'RUNNING') {
          const result = await followWorkflow(client, handle, io, { quiet: args.json, taskQueue: desc.taskQueue });
          if (args.json) io.out(JSON.stringify({ workflowId: args.id, status: 'COMPLETED', result }, null, 2));
          return;
        }
        await printStatus(client, desc, io, args.json);
      }),
  });
}

async function printStatus(
  client: Client,
  desc: WorkflowExecutionDescription,
  io: CliIO,
  json: boolean,
): Promise<void> {
  const handle = client.workflow.getHandle(desc.workflowId, desc.runId);
  const { queryProgress } = await import('../follow');
  const progress = desc.status.name === 'RUNNING' ? await queryProgress(client, handle) : undefined;
  const pending = desc.raw.pendingActivities ?? [];
  if (json) {
    io.out(
      JSON.stringify(
        {
          workflowId: desc.workflowId,
          runId: desc.runId,
          type: desc.type,
          status: desc.status.name,
          startTime: desc.startTime,
          closeTime: desc.closeTime,
          progress,
          pendingActivities: pending.map((a) => ({ type: a.activityType?.name, attempt: a.attempt, state: a.state })),
        },
        null,
        2,
      ),
    );
    return;
  }
  io.out(`${desc.workflowId}  ${desc.type}  ${desc.status.name}`);
  io.out(
    `  started ${desc.startTime.toISOString()}${desc.closeTime ? `, closed ${desc.closeTime.toISOString()}` : ''}`,
  );
  if (progress) {
    io.out(`  progress ${progress.percent}%`);
    for (const s of progress.steps) io.out(`    [${s.state}] ${s.name}${s.detail ? `: ${s.detail}` : ''}`);
  } else if (desc.status.name === 'RUNNING') {
    // No worker answers queries: say what the server knows instead.
    io.out('  (no worker answered the progress query; showing what the server knows)');
    for (const a of pending) io.out(`    activity ${a.activityType?.name} attempt ${a.attempt}`);
  }
}
