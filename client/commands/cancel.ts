import { UserError } from '../../common/errors';
import { withClient } from '../context';
import { defineCommand, type Command } from '../define-command';
import type { CliIO } from '../io';

export function cancelCommand(io: CliIO): Command {
  return defineCommand({
    command: 'cancel <id>',
    describe: 'Ask a running operation to stop (its steps clean up and it ends as cancelled)',
    builder: (y) =>
      y
        .positional('id', { type: 'string', demandOption: true, describe: 'Workflow ID' })
        .option('wait', { type: 'boolean', default: true, describe: 'Wait until it has stopped' }),
    handler: async (args) =>
      withClient(args, async (client) => {
        const handle = client.workflow.getHandle(args.id);
        const desc = await handle.describe();
        if (desc.status.name !== 'RUNNING') {
          throw new UserError(`${args.id} is not running (it is ${desc.status.name}); nothing to cancel.`);
        }
        await handle.cancel();
        const { hasWorker } = await import('../follow');
        // Cancellation runs the workflow's cleanup, which needs a worker: with none, waiting would hang.
        if (args.wait && !(await hasWorker(client, desc.taskQueue))) {
          const msg = `Cancellation of ${args.id} is recorded; it takes effect when a worker polls task queue "${desc.taskQueue}" ("ssw worker").`;
          io.out(
            args.json ? JSON.stringify({ workflowId: args.id, cancelRequested: true, workerRunning: false }) : msg,
          );
          return;
        }
        if (!args.wait) {
          io.out(
            args.json
              ? JSON.stringify({ workflowId: args.id, cancelRequested: true })
              : `Cancellation requested for ${args.id}.`,
          );
          return;
        }
        const { WorkflowFailedError } = await import('@temporalio/client');
        let status = 'COMPLETED';
        try {
          await handle.result();
        } catch (err) {
          if (!(err instanceof WorkflowFailedError)) throw err;
          status = (await handle.describe()).status.name;
        }
        io.out(args.json ? JSON.stringify({ workflowId: args.id, status }) : `${args.id} stopped: ${status}.`);
      }),
  });
}
