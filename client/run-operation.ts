import type { StartRequest } from './start-operation';
import { GlobalArgs, withClient } from './context';
import type { CliIO } from './io';

/**
 * What every operation command does once its input is checked: start the
 * workflow under its lock (or attach to the same one running), then either
 * return at once (`--detach`) or follow it to the end and show the result,
 * as text or as `--json`.
 */
export async function runOperation<T>(
  io: CliIO,
  args: GlobalArgs & { detach?: boolean },
  req: Omit<StartRequest, 'taskQueue'>,
  show: { text: (result: T) => void; json?: (result: T) => unknown },
): Promise<void> {
  await withClient(args, async (client) => {
    const { startOperation } = await import('./start-operation');
    const { followWorkflow } = await import('./follow');
    const { handle, attached } = await startOperation(client, { ...req, taskQueue: args['task-queue'] });
    if (args.detach) {
      const ui = webUiLink(args.namespace, handle.workflowId);
      io.out(args.json ? JSON.stringify({ workflowId: handle.workflowId, attached, webUi: ui }) : `${attached ? 'Already running' : 'Started'} ${handle.workflowId}\nWeb UI: ${ui}\nFollow it with: ssw status --follow ${handle.workflowId}`);
      return;
    }
    if (!args.json) io.out(`${attached ? 'Already running; following' : 'Started'} ${handle.workflowId}`);
    const result = await followWorkflow<T>(client, handle, io, { quiet: args.json, taskQueue: args['task-queue'] });
    if (args.json) io.out(JSON.stringify({ workflowId: handle.workflowId, result: show.json ? show.json(result) : result }, null, 2));
    else show.text(result);
  });
}

/** The run's page in the Temporal Web UI ($SSW_UI_URL, default the embedded server's http://127.0.0.1:8233). */
export function webUiLink(namespace: string, workflowId: string): string {
  const base = (process.env.SSW_UI_URL || 'http://127.0.0.1:8233').replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
