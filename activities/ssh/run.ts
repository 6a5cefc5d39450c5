import { StringDecoder } from 'node:string_decoder';
import { ApplicationFailure } from '@temporalio/common';
import type { Client, ClientChannel } from 'ssh2';
import { FailureType } from '../../common/failure-types';
import { argvToCommand } from '../../common/shell-quote';

/**
 * The one runner for host commands: argv in (quoted by `argvToCommand`, the
 * only way a command string is made, behind a fixed prefix that reports the
 * process group for killing), exit status and output out.
 *
 * Secrets go on stdin, never in argv: the command line is visible to every
 * user of the host through `ps` and /proc, and argv is what ends up in logs
 * and error messages. There is deliberately no `env` option either: OpenSSH
 * drops variables not listed in AcceptEnv, and a variable set in the command
 * string would be just as visible as an argument.
 */

/** Output kept per stream; beyond it the head is dropped, since a failure's cause is almost always at the end. */
export const OUTPUT_CAP_BYTES = 1024 * 1024;

export interface RunOptions {
  /**
   * Written to the command's stdin, then EOF. The place for secrets. Without it stdin is closed at once, so nothing
   * waits for input.
   */
  stdin?: string | Buffer;
  /** Kill the command (signal KILL, close the channel) after this long. @default no limit */
  timeoutMs?: number;
  /** Kill the command when aborted (e.g. the activity's cancellation signal). */
  signal?: AbortSignal;
  /** Called with each decoded output chunk as it arrives (progress, heartbeats). */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Not supported, on purpose: see the module comment. */
  env?: never;
}

export interface RunResult {
  /** The exit status, or null when the command was killed by a signal. */
  exitCode: number | null;
  /** The signal name (e.g. 'KILL') when the command died of one. */
  signal?: string;
  stdout: string;
  stderr: string;
  /** True when a stream exceeded {@link OUTPUT_CAP_BYTES} and only its tail was kept. */
  stdoutTruncated?: boolean;
  stderrTruncated?: boolean;
}

/** Keeps the last `cap` characters of a stream without copying on every chunk. */
class TailBuffer {
  private text = '';
  truncated = false;
  constructor(private readonly cap: number) {}
  push(s: string): void {
    this.text += s;
    if (this.text.length > 2 * this.cap) this.trim();
  }
  private trim(): void {
    if (this.text.length > this.cap) {
      this.text = this.text.slice(this.text.length - this.cap);
      this.truncated = true;
    }
  }
  value(): string {
    this.trim();
    return this.text;
  }
}

/**
 * Prefix of every command: print the shell's PID to stderr first. sshd starts
 * each command in a new session (setsid), so that PID is also the process
 * group of the command and everything it spawns, and a timeout or
 * cancellation can kill the whole group. The runner strips this line from
 * stderr. It assumes a POSIX login shell (sh, dash, bash), as the quoting does.
 */
const PGID_PREFIX = 'echo $$ >&2; ';

/** The full string sent to sshd for an argv: the PGID report, then the quoted command. */
export function remoteCommand(argv: readonly string[]): string {
  return PGID_PREFIX + argvToCommand(argv);
}

/**
 * Ask sshd to signal the command. ssh2 only sends a `signal` request while
 * the channel is writable, and we close our side (EOF on stdin) right after
 * starting the command, so the request goes through the protocol object.
 * OpenSSH honours it only for sessions running under privilege separation,
 * which it skips for root logins: hence the explicit kill in `killCommand`.
 */
function sendSignal(channel: ClientChannel, name: string): void {
  const ch = channel as unknown as {
    outgoing?: { id: number; state: string };
    _client?: { _protocol?: { signal(id: number, name: string): void } };
  };
  try {
    if (ch.outgoing && (ch.outgoing.state === 'open' || ch.outgoing.state === 'eof')) {
      ch._client?._protocol?.signal(ch.outgoing.id, name);
    }
  } catch {
    // The connection may already be gone; closing is all that is left to do.
  }
}

/**
 * Stop a running command and everything it started: signal request, then
 * `kill -s KILL -- -PGID` on a second channel, then close the channel.
 * Closing alone would leave the process running on the host until it next
 * writes output. Best effort: a dead connection cannot kill anything.
 */
async function killCommand(client: Client, channel: ClientChannel, pgid: number | undefined): Promise<void> {
  sendSignal(channel, 'KILL');
  if (pgid !== undefined) {
    await runCommand(client, ['kill', '-s', 'KILL', '--', `-${pgid}`], { timeoutMs: 5_000 }).catch(() => undefined);
  }
  try {
    channel.close();
  } catch {
    // Already closed.
  }
}

/**
 * Run argv on the host and collect its exit status and output.
 *
 * Resolves for any exit status (judging it is the caller's business; see
 * {@link runChecked}). Rejects with a retryable failure on timeout, abort or a
 * lost connection: none of those says anything about the command itself.
 * On timeout and abort the command's process group is killed first, so a
 * caller that moves on (or retries) does not race the old process.
 */
export function runCommand(client: Client, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const command = remoteCommand(argv);
  const name = argv[0]!;
  return new Promise<RunResult>((resolve, reject) => {
    if (opts.signal?.aborted) {
      return reject(ApplicationFailure.create({ message: `${name} was not started: cancelled` }));
    }
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let channel: ClientChannel | undefined;
    let pgid: number | undefined;
    let pgidKnown = false; // the PGID line was read, or will never come
    let stopReason: string | undefined;
    let killing = false;

    const cleanup = (): void => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    // Kill once the channel is open and its PGID is known; a stop that comes
    // earlier (a short timeout, an early abort) waits for them, at most 2 s.
    const killIfStopped = (): void => {
      if (stopReason === undefined || killing || !channel || !pgidKnown) return;
      killing = true;
      const message = stopReason;
      void killCommand(client, channel, pgid).then(() => reject(ApplicationFailure.create({ message })));
    };
    const stop = (message: string): void => {
      if (settled) return;
      settled = true;
      cleanup();
      stopReason = message;
      setTimeout(() => {
        pgidKnown = true;
        if (channel) killIfStopped();
        else if (!killing) {
          killing = true;
          reject(ApplicationFailure.create({ message: `${message} (the SSH channel never opened)` }));
        }
      }, 2_000).unref();
      killIfStopped();
    };
    function onAbort(): void {
      stop(`${name} was killed on the host: cancelled`);
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.timeoutMs !== undefined) {
      timer = setTimeout(
        () => stop(`${name} was killed on the host after its ${opts.timeoutMs} ms timeout`),
        opts.timeoutMs,
      );
    }

    client.exec(command, (err, ch) => {
      if (err) {
        if (!settled) {
          settled = true;
          cleanup();
          reject(ApplicationFailure.create({ message: `Cannot start ${name} over SSH: ${err.message}`, cause: err }));
        }
        return;
      }
      channel = ch;
      // Stream errors (e.g. writing stdin after the host closed) end in 'close' too; handled there.
      ch.on('error', () => undefined);

      const out = new TailBuffer(OUTPUT_CAP_BYTES);
      const errOut = new TailBuffer(OUTPUT_CAP_BYTES);
      // Decoders keep a multi-byte character split across two chunks intact.
      const outDec = new StringDecoder('utf8');
      const errDec = new StringDecoder('utf8');
      const take = (buf: TailBuffer, dec: StringDecoder, stream: 'stdout' | 'stderr') => (data: Buffer) => {
        if (stopReason !== undefined) return; // being killed: its output no longer matters
        const s = dec.write(data);
        if (s === '') return;
        buf.push(s);
        opts.onOutput?.(s, stream);
      };
      ch.on('data', take(out, outDec, 'stdout'));
      const takeErr = take(errOut, errDec, 'stderr');
      let head: Buffer | undefined = Buffer.alloc(0); // stderr until the PGID line is complete
      ch.stderr.on('data', (data: Buffer) => {
        if (!head) return takeErr(data);
        head = Buffer.concat([head, data]);
        const nl = head.indexOf(0x0a);
        if (nl === -1 && head.length < 32) return;
        const line = head.subarray(0, nl === -1 ? 0 : nl).toString('latin1');
        if (/^[1-9][0-9]*$/.test(line)) pgid = Number(line);
        const rest = head.subarray(nl + 1);
        head = undefined;
        pgidKnown = true;
        if (rest.length) takeErr(rest);
        killIfStopped();
      });

      let exitCode: number | null | undefined;
      let exitSignal: string | undefined;
      ch.on('exit', (code: number | null, sig?: string) => {
        exitCode = code;
        if (code === null && sig) exitSignal = sig;
      });
      ch.on('close', () => {
        if (settled) {
          pgidKnown = true; // nothing left to kill on this channel, but still reject
          return killIfStopped();
        }
        settled = true;
        cleanup();
        if (exitCode === undefined) {
          return reject(
            ApplicationFailure.create({
              message: `SSH connection lost while ${name} was running; its outcome is unknown`,
            }),
          );
        }
        if (head?.length) takeErr(head); // no PGID line after all (a non-POSIX shell's complaint): keep it
        const tailOut = outDec.end();
        const tailErr = errDec.end();
        if (tailOut) out.push(tailOut);
        if (tailErr) errOut.push(tailErr);
        const result: RunResult = { exitCode, stdout: out.value(), stderr: errOut.value() };
        if (exitSignal) result.signal = exitSignal;
        if (out.truncated) result.stdoutTruncated = true;
        if (errOut.truncated) result.stderrTruncated = true;
        resolve(result);
      });

      if (opts.stdin !== undefined) ch.end(opts.stdin);
      else ch.end();
      killIfStopped();
    });
  });
}

export interface RunCheckedOptions extends RunOptions {
  /**
   * Exit codes that mean "try again later" for this command (e.g. a package
   * manager's lock being held). They raise a retryable CommandFailed; every
   * other non-zero exit is final.
   * @default []
   */
  retryableExitCodes?: number[];
  /** How many trailing stderr lines go into the failure message. @default 20 */
  stderrLines?: number;
}

/**
 * Run argv and insist on exit status 0. Any other outcome throws a
 * CommandFailed failure naming the command, the status and the end of stderr
 * (only argv[0] is named: argv may be long, and messages are not encrypted in
 * Temporal's history).
 */
export async function runChecked(
  client: Client,
  argv: readonly string[],
  opts: RunCheckedOptions = {},
): Promise<RunResult> {
  const result = await runCommand(client, argv, opts);
  if (result.exitCode === 0) return result;
  const tail = result.stderr
    .trimEnd()
    .split('\n')
    .slice(-(opts.stderrLines ?? 20))
    .join('\n');
  const status =
    result.exitCode === null
      ? `was killed by signal ${result.signal ?? 'unknown'}`
      : `exited with status ${result.exitCode}`;
  const retryable = result.exitCode !== null && (opts.retryableExitCodes ?? []).includes(result.exitCode);
  throw ApplicationFailure.create({
    message: `${argv[0]} ${status} on the host${tail ? `:\n${tail}` : ' (no stderr)'}`,
    type: FailureType.CommandFailed,
    nonRetryable: !retryable,
    details: [{ command: argv[0], exitCode: result.exitCode, signal: result.signal ?? null }],
  });
}

/**
 * One round trip through the connection to the host's sshd and back: a
 * session channel running `true`. Resolves when the channel closes after
 * the command ran; a dead or frozen connection never resolves it (the
 * caller's stall limit decides how long that may take) or rejects it.
 * This is the liveness probe of quiet SSH steps: it proves the connection
 * and the host still answer, which a silent command cannot show.
 */
export function probeConnection(client: Client, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('probe aborted'));
    const onAbort = (): void => reject(new Error('probe aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (err?: Error): void => {
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    try {
      client.exec('true', (err, ch) => {
        if (err) return done(err);
        ch.on('error', () => undefined);
        ch.on('close', () => done());
        ch.resume();
        ch.stderr.resume();
        ch.end();
      });
    } catch (err) {
      done(err as Error); // not connected any more
    }
  });
}
