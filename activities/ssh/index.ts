import { Context } from '@temporalio/activity';
import type { SshTarget } from './connect';
import type { SshConnector } from './connector';
import { runChecked } from './run';
import { downloadFile, uploadFile, type TransferResult } from './sftp';
import type { SshStep } from './step';

export { argvToCommand, shellQuote } from '../../common/shell-quote';
export {
  fingerprintSha256,
  forgetHostKey,
  knownHostsLine,
  lookupHostKeys,
  pinHostKey,
  readKnownHosts,
} from '../../common/known-hosts';
export type { KnownHostEntry, PinResult } from '../../common/known-hosts';
export { connectSsh, describeTarget, pinnedConnectOptions, withSsh } from './connect';
export { pinnedSsh } from './connector';
export type { SshConnector } from './connector';
export type { ConnectOptions, HostKeyInfo, HostKeyPolicy, SshConnection, SshTarget } from './connect';
export { probeConnection, runChecked, runCommand } from './run';
export { sshStep } from './step';
export type { SshStep, SshStepOptions } from './step';
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
  ssh: SshConnector;
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

export function createSshActivities({ ssh }: SshActivityDeps) {
  /** Read-only preflight: the pinned host key matches, and which OS, kernel and architecture the host runs. */
  async function sshCheck(target: SshTarget): Promise<SshCheckResult> {
    return ssh.session(target, async ({ client, hostKey }) => {
      const osRelease = parseOsRelease(
        (await runChecked(client, ['cat', '/etc/os-release'], { timeoutMs: 30_000 })).stdout,
      );
      const uname = (await runChecked(client, ['uname', '-s', '-r', '-m'], { timeoutMs: 30_000 })).stdout
        .trim()
        .split(/\s+/);
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
    const bytes = { stdout: 0, stderr: 0 };
    return ssh.step(`${argv[0]} on ${target.host}`, target, { ...bytes }, async (s) => {
      const r = await s.run(argv, {
        timeoutMs: opts.timeoutMs,
        onOutput: (chunk, stream) => {
          bytes[stream] += Buffer.byteLength(chunk);
          s.progress({ ...bytes });
        },
      });
      return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    });
  }

  /**
   * Run a transfer heartbeating `{ bytesDone }` as bytes move; one that moves
   * none for the stall limit fails its attempt. The partial file on the
   * destination is what resumes a retried attempt; the last heartbeat is
   * only logged, to show in the worker log where the previous attempt got to.
   */
  async function transfer(
    what: string,
    target: SshTarget,
    run: (s: SshStep, onProgress: (done: number) => void) => Promise<TransferResult>,
  ): Promise<TransferResult> {
    const ctx = Context.current();
    const previous = ctx.info.heartbeatDetails as { bytesDone?: number } | undefined;
    if (ctx.info.attempt > 1 || previous?.bytesDone) {
      ctx.log.info(
        `${what}: attempt ${ctx.info.attempt}, previous attempt reported ${previous?.bytesDone ?? 0} bytes done; resuming from the partial file`,
      );
    }
    const result = await ssh.step(what, target, { bytesDone: previous?.bytesDone ?? 0 }, (s) =>
      run(s, (bytesDone) => s.progress({ bytesDone })),
    );
    ctx.log.info(
      result.skipped
        ? `${what}: destination already identical (${result.size} bytes), skipped`
        : `${what}: ${result.bytesTransferred} bytes transferred (resumed at ${result.resumedFrom}), sha256 ${result.sha256}`,
    );
    return result;
  }

  /** Copy a file from the management machine to the host (resumable, skipped when identical). */
  async function sshUpload(target: SshTarget, localPath: string, remotePath: string): Promise<TransferResult> {
    return transfer(`upload ${localPath} -> ${target.host}:${remotePath}`, target, (s, onProgress) =>
      uploadFile(s.client, localPath, remotePath, { onProgress, signal: s.signal, whileQuiet: s.whileQuiet }),
    );
  }

  /** Copy a file from the host to the management machine (resumable, skipped when identical). */
  async function sshDownload(target: SshTarget, remotePath: string, localPath: string): Promise<TransferResult> {
    return transfer(`download ${target.host}:${remotePath} -> ${localPath}`, target, (s, onProgress) =>
      downloadFile(s.client, remotePath, localPath, { onProgress, signal: s.signal, whileQuiet: s.whileQuiet }),
    );
  }

  return { sshCheck, sshRun, sshUpload, sshDownload };
}
