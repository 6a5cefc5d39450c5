import type { Client } from 'ssh2';
import { withProgress, type StepProgress } from '../heartbeat';
import { connectSsh, type ConnectOptions, type SshConnection } from './connect';
import type { SshTarget } from './target';
import {
  probeConnection,
  runChecked,
  runCommand,
  type RunCheckedOptions,
  type RunOptions,
  type RunResult,
} from './run';

/**
 * A long activity step over one SSH connection, heartbeating its progress
 * (see `withProgress`): bytes a transfer moved, output a command printed, and,
 * while a command is silent, the answers of a liveness probe (one `true` run
 * over the same connection, a few times per stall limit). A connection that
 * stops answering therefore stalls the step, which is then aborted: the
 * connection is torn down so every pending SFTP request and channel fails at
 * once, and the attempt fails retryably, to resume from what it left.
 */

export interface SshStep extends StepProgress {
  client: Client;
  hostKey: SshConnection['hostKey'];
  /** `runCommand` bound to this step: aborted with it, its output is progress, its silence is covered by the probe. */
  run(argv: readonly string[], opts?: Omit<RunOptions, 'signal'>): Promise<RunResult>;
  /** `runChecked`, bound the same way. */
  runChecked(argv: readonly string[], opts?: Omit<RunCheckedOptions, 'signal'>): Promise<RunResult>;
}

export interface SshStepOptions {
  /** @default derived from the activity's heartbeat timeout (see `stallLimitMs`) */
  stallMs?: number;
}

/** Connects, runs `fn` as a progress-heartbeating step, and always closes the connection afterwards. */
export async function sshStep<T>(
  what: string,
  target: SshTarget,
  connect: ConnectOptions,
  initial: unknown,
  fn: (s: SshStep) => Promise<T>,
  opts: SshStepOptions = {},
): Promise<T> {
  let client: Client | undefined;
  return withProgress(
    what,
    initial,
    async (step) => {
      const conn = await connectSsh(target, connect);
      client = conn.client;
      try {
        if (step.signal.aborted) throw new Error(`${what}: aborted while connecting`);
        step.progress();
        const bind = <O extends RunOptions>(o: O | undefined): O =>
          ({
            ...o,
            signal: step.signal,
            onOutput: (chunk: string, stream: 'stdout' | 'stderr') => {
              o?.onOutput?.(chunk, stream);
              step.progress();
            },
          }) as O;
        return await fn({
          ...step,
          signal: step.signal,
          progress: step.progress,
          whileQuiet: step.whileQuiet,
          client: conn.client,
          hostKey: conn.hostKey,
          run: (argv, o) => step.whileQuiet(() => runCommand(conn.client, argv, bind(o))),
          runChecked: (argv, o) => step.whileQuiet(() => runChecked(conn.client, argv, bind(o))),
        });
      } finally {
        conn.client.end();
      }
    },
    {
      stallMs: opts.stallMs,
      probe: (signal) => (client ? probeConnection(client, signal) : Promise.reject(new Error('not connected yet'))),
      // A stalled connection is presumed dead: destroy it so pending reads, writes and
      // channels fail now. A cancelled one is alive, and its commands are killed over it first.
      onAbort: (why) => {
        if (why === 'stalled') client?.destroy();
      },
    },
  );
}
