import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { recordHistoriesOf } from './record-histories';

/** The built CLI entry point, run as the operator would run `ssw`. */
export const SSW = path.resolve(__dirname, '../../client/main.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function ssw(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [SSW, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function sswAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SSW, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export interface LongRunning {
  child: ChildProcess;
  /** The argv it was started with (SSW_RECORD_HISTORIES reads a worker's task queue from it). */
  args: string[];
  /** SIGINT to the process group, like Ctrl-C in a terminal. */
  ctrlC(): void;
  output: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/**
 * Starts a foreground ssw service (server, worker, dev) and waits for
 * `readyLine` in its output. It runs in its own process group, as in a
 * terminal, so `ctrlC()` can signal the whole group the way a terminal does.
 */
export async function startService(args: string[], readyLine: RegExp, timeoutMs = 90000): Promise<LongRunning> {
  const child = spawn(process.execPath, [SSW, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`ssw ${args.join(' ')} not ready after ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    );
    const check = () => {
      if (readyLine.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`ssw ${args.join(' ')} exited with ${code} before ready:\n${out}`));
    });
  });
  return { child, args, output: () => out, exited, ctrlC: () => process.kill(-child.pid!, 'SIGINT') };
}

/** Stops a service cleanly if a test left it running (Ctrl-C, then SIGKILL after `graceMs`). */
export async function stopService(s: LongRunning, graceMs = 45000): Promise<void> {
  try {
    await recordHistoriesOf(s.args); // opt-in (test/helpers/record-histories.ts); nothing by default
  } finally {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.ctrlC();
      const timer = setTimeout(() => s.child.kill('SIGKILL'), graceMs);
      await s.exited;
      clearTimeout(timer);
    }
  }
}
