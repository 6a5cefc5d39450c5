import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { SsPaths } from '../../common/paths';
import { withSsh, type ConnectOptions, type SshTarget } from './connect';
import { runChecked, runCommand } from './run';
import { downloadFile, uploadFile, type TransferResult } from './sftp';

export { argvToCommand, shellQuote } from './quote';
export { fingerprintSha256, forgetHostKey, knownHostsLine, lookupHostKeys, pinHostKey, readKnownHosts } from './known-hosts';
export type { KnownHostEntry, PinResult } from './known-hosts';
export { connectSsh, describeTarget, probeHostKey, withSsh } from './connect';
export type { ConnectOptions, HostKeyInfo, HostKeyPolicy, ProbedHostKey, SshConnection, SshTarget } from './connect';
export { runChecked, runCommand } from './run';
export type { RunCheckedOptions, RunOptions, RunResult } from './run';
export { downloadFile, remoteSha256, sha256File, uploadFile } from './sftp';
export type { TransferOptions, TransferResult } from './sftp';

/**
 * SSH activities: every connection is opened for one activity call with the
 * pinned host key and closed in `finally`, so a retried or cancelled attempt
 * never inherits a half-used session. Results and logs carry exit codes,
 * output and byte counts, never key material.
 */

export interface SshActivityDeps {
  paths: SsPaths;
}

export interface SshCheckResult {
  hostKeyFingerprint: string;
  os: { id: string; versionId: string; prettyName: string };
  /** `uname -s -r`, e.g. "Linux 6.1.0-18-amd64". */
  kernel: string;
  /** `uname -m`, e.g. "x86_64". */
  arch: string;
}

export interface SshRunOptions {
  /** Kill the command after this long (the attempt then fails and may be retried). */
  timeoutMs?: number;
}

export interface SshRunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Parse /etc/os-release (shell-style `KEY="value"` lines). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!;
    const q = v[0];
    if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) {
      v = v.slice(1, -1);
      if (q === '"') v = v.replace(/\\([\\$"`])/g, '$1');
    }
    out[m[1]!] = v;
  }
  return out;
}

/**
 * Throttled heartbeats while a command or transfer runs. The SDK throttles
 * too; this also beats when a command prints nothing for minutes, so a silent
 * but healthy step is not taken for a dead worker.
 */
function heartbeater(ctx: Context, initial: unknown): { set(details: unknown): void; stop(): void } {
  let details = initial;
  const beat = () => ctx.heartbeat(details);
  const everyMs = Math.max(200, Math.min(5_000, (ctx.info.heartbeatTimeoutMs || 10_000) / 3));
  const timer = setInterval(beat, everyMs);
  beat();
  return {
    set(d) {
      details = d;
      beat();
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/** A cancelled activity must end with CancelledFailure, not with the runner's "killed" failure. */
function rethrow(ctx: Context, err: unknown): never {
  if (ctx.cancellationSignal.aborted) {
    throw new CancelledFailure(`${ctx.info.activityType} was cancelled`, undefined, err instanceof Error ? err : undefined);
  }
  throw err;
}

export function createSshActivities({ paths }: SshActivityDeps) {
  const connectOpts = (): ConnectOptions => ({ hostKeys: { knownHostsFile: paths.knownHosts, mode: 'pinned' } });

  /** Read-only preflight: the pinned host key matches, and which OS, kernel and architecture the host runs. */
  async function sshCheck(target: SshTarget): Promise<SshCheckResult> {
    return withSsh(target, connectOpts(), async ({ client, hostKey }) => {
      const osRelease = parseOsRelease((await runChecked(client, ['cat', '/etc/os-release'], { timeoutMs: 30_000 })).stdout);
      const uname = (await runChecked(client, ['uname', '-s', '-r', '-m'], { timeoutMs: 30_000 })).stdout.trim().split(/\s+/);
      return {
        hostKeyFingerprint: hostKey.fingerprint,
        os: { id: osRelease.ID ?? '', versionId: osRelease.VERSION_ID ?? '', prettyName: osRelease.PRETTY_NAME ?? '' },
        kernel: uname.slice(0, -1).join(' '),
        arch: uname[uname.length - 1] ?? '',
      };
    });
  }

  /**
   * Run one command (argv, quoted by the one runner) and return its exit code
   * and output whatever the code; the workflow judges it. Heartbeats how much
   * output has arrived; activity cancellation kills the command on the host.
   */
  async function sshRun(target: SshTarget, argv: string[], opts: SshRunOptions = {}): Promise<SshRunResult> {
    const ctx = Context.current();
    const bytes = { stdout: 0, stderr: 0 };
    const hb = heartbeater(ctx, { ...bytes });
    try {
      return await withSsh(target, connectOpts(), async ({ client }) => {
        const r = await runCommand(client, argv, {
          timeoutMs: opts.timeoutMs,
          signal: ctx.cancellationSignal,
          onOutput: (chunk, stream) => {
            bytes[stream] += Buffer.byteLength(chunk);
            hb.set({ ...bytes });
          },
        });
        return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
      });
    } catch (err) {
      rethrow(ctx, err);
    } finally {
      hb.stop();
    }
  }

  /**
   * Run a transfer with heartbeats of `{ bytesDone }`. The partial file on
   * the destination is what resumes a retried attempt; the last heartbeat is
   * only logged, to show in the worker log where the previous attempt got to.
   */
  async function transfer(what: string, run: (onProgress: (done: number) => void, signal: AbortSignal) => Promise<TransferResult>): Promise<TransferResult> {
    const ctx = Context.current();
    const previous = ctx.info.heartbeatDetails as { bytesDone?: number } | undefined;
    if (ctx.info.attempt > 1 || previous?.bytesDone) {
      ctx.log.info(`${what}: attempt ${ctx.info.attempt}, previous attempt reported ${previous?.bytesDone ?? 0} bytes done; resuming from the partial file`);
    }
    const hb = heartbeater(ctx, { bytesDone: previous?.bytesDone ?? 0 });
    try {
      const result = await run((bytesDone) => hb.set({ bytesDone }), ctx.cancellationSignal);
      ctx.log.info(
        result.skipped
          ? `${what}: destination already identical (${result.size} bytes), skipped`
          : `${what}: ${result.bytesTransferred} bytes transferred (resumed at ${result.resumedFrom}), sha256 ${result.sha256}`,
      );
      return result;
    } catch (err) {
      rethrow(ctx, err);
    } finally {
      hb.stop();
    }
  }

  /** Copy a file from the management machine to the host (resumable, skipped when identical). */
  async function sshUpload(target: SshTarget, localPath: string, remotePath: string): Promise<TransferResult> {
    return transfer(`upload ${localPath} -> ${target.host}:${remotePath}`, (onProgress, signal) =>
      withSsh(target, connectOpts(), ({ client }) => uploadFile(client, localPath, remotePath, { onProgress, signal })),
    );
  }

  /** Copy a file from the host to the management machine (resumable, skipped when identical). */
  async function sshDownload(target: SshTarget, remotePath: string, localPath: string): Promise<TransferResult> {
    return transfer(`download ${target.host}:${remotePath} -> ${localPath}`, (onProgress, signal) =>
      withSsh(target, connectOpts(), ({ client }) => downloadFile(client, remotePath, localPath, { onProgress, signal })),
    );
  }

  return { sshCheck, sshRun, sshUpload, sshDownload };
}

/** The SSH activities as a type, for `proxyActivities<SshActivities>()` in workflows. */
export type SshActivities = ReturnType<typeof createSshActivities>;
