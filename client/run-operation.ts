import type { OperationName, TargetOf } from '../common/temporal/operations';
import type { OperationInput, OperationResult } from '../workflows/operations';
import { GlobalArgs, pathsOf, withClient } from './context';
import { webUiBase } from './services/server-record';
import type { CliIO } from './io';

/**
 * What every operation command does once its input is checked: start the
 * workflow under its lock (or attach to the same one running), then either
 * return at once (`--detach`) or follow it to the end and show the result,
 * as text or as `--json`.
 */
export async function runOperation<K extends OperationName>(
  io: CliIO,
  args: GlobalArgs & { detach?: boolean },
  operation: K,
  target: TargetOf<K>,
  input: OperationInput<K>,
  show: { text: (result: OperationResult<K>) => void; json?: (result: OperationResult<K>) => unknown },
  opts: {
    /**
     * What must happen on this machine before the run starts (pinning a host key), once Temporal answers and nothing
     * conflicts.
     */
    beforeStart?: () => Promise<void>;
  } = {},
): Promise<void> {
  await withClient(args, async (client) => {
    const { refuseConflicts, startOperation } = await import('./start-operation');
    const { followWorkflow } = await import('./follow');
    const req = { operation, target, input, taskQueue: args['task-queue'] };
    if (opts.beforeStart) {
      await refuseConflicts(client, req);
      await opts.beforeStart();
    }
    const { handle, attached } = await startOperation(client, req);
    if (args.detach) {
      const ui = webUiLink(args, handle.workflowId);
      const started = `${attached ? 'Already running' : 'Started'} ${handle.workflowId}`;
      const uiLine = ui
        ? `Web UI: ${ui}`
        : `Web UI: unknown for ${args['temporal-address']} (set SSW_UI_URL to its address)`;
      io.out(
        args.json
          ? JSON.stringify({ workflowId: handle.workflowId, attached, webUi: ui ?? null })
          : `${started}\n${uiLine}\nFollow it with: ssw status --follow ${handle.workflowId}`,
      );
      return;
    }
    if (!args.json) io.out(`${attached ? 'Already running; following' : 'Started'} ${handle.workflowId}`);
    const follow = { quiet: args.json, taskQueue: args['task-queue'] };
    const result = await followWorkflow<OperationResult<K>>(client, handle, io, follow);
    if (args.json)
      io.out(
        JSON.stringify({ workflowId: handle.workflowId, result: show.json ? show.json(result) : result }, null, 2),
      );
    else show.text(result);
  });
}

/**
 * The run's page in the Temporal Web UI: $SSW_UI_URL, else the UI of the embedded
 * server running at --temporal-address (the port it was started with), else
 * the default UI for the default address; undefined when that is unknown.
 */
export function webUiLink(
  args: Pick<GlobalArgs, 'ss-root' | 'temporal-address' | 'namespace'>,
  workflowId: string,
): string | undefined {
  const base = webUiBase(pathsOf(args as GlobalArgs), args['temporal-address']);
  return base && `${base}/namespaces/${encodeURIComponent(args.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
