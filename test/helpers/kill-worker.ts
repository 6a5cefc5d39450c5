import type { Client } from '@temporalio/client';
import { queryProgress } from '../../client/follow';
import { sswAsync, startService, type CliResult, type LongRunning } from './cli';
import { waitFor } from './temporal';

/**
 * The crash test of an operation through the CLI: runs `ssw ARGS`, waits until
 * its workflow's progress shows a step `at` accepts as running, SIGKILLs the
 * worker's process group (by its PID), and starts a new worker with
 * `workerArgs`. Returns the command's promise (it must still finish), the step
 * it was killed in, and the new worker.
 */
export async function killWorkerDuring(o: {
  args: string[];
  workflowId: string;
  client: Client;
  at: (step: string) => boolean;
  worker: LongRunning;
  workerArgs: string[];
  timeoutMs: number;
}): Promise<{ result: Promise<CliResult>; killedAt: string; worker: LongRunning }> {
  let finished: string | undefined;
  const result = sswAsync(o.args).then((r) => {
    finished = `ssw ${o.args[0]} ended before the kill (${r.status}):\n${r.stdout}\n${r.stderr}`;
    return r;
  });
  const handle = o.client.workflow.getHandle(o.workflowId);
  const killedAt = await waitFor(
    `${o.workflowId} to reach the step to kill the worker in`,
    async () => {
      if (finished) throw new Error(finished);
      const snap = await queryProgress(o.client, handle).catch(() => undefined);
      return snap?.current.find(o.at);
    },
    o.timeoutMs,
    50,
  );
  process.kill(-o.worker.child.pid!, 'SIGKILL'); // the worker's own process group, by PID
  await o.worker.exited;
  const worker = await startService(o.workerArgs, /Worker polling/);
  return { result, killedAt, worker };
}
