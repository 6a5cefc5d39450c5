import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import Long from 'long';
import { UserError } from '../../common/errors';
import { SEARCH_ATTRIBUTE_NAMES } from '../../common/temporal/search-attributes';

/** The embedded default: Temporal's dev server on loopback with SQLite under $SS_ROOT. */
export interface EmbeddedServerOptions {
  binary: string;
  dbFile: string;
  logFile: string;
  namespace: string;
  ip?: string; // @default 127.0.0.1 — the dev server has no auth: never expose it
  port?: number; // @default 7233
  uiPort?: number; // @default 8233
  headless?: boolean; // @default false
  codecEndpoint?: string; // the UI decodes payloads through it
  /**
   * Whether the binary knows --ui-disable-news-fetch (CLIs before mid-2026 have neither the flag nor a news feed).
   * @default true
   */
  uiNewsFlag?: boolean;
  retentionDays?: number; // @default 30 (the dev server's own default is 1 day)
  readyTimeoutMs?: number; // @default 60000
}

/** The argv for `temporal server start-dev`; pure so tests can pin it. */
export function devServerArgs(o: EmbeddedServerOptions): string[] {
  const args = [
    'server',
    'start-dev',
    '--ip',
    o.ip ?? '127.0.0.1',
    '--port',
    String(o.port ?? 7233),
    '--db-filename',
    o.dbFile,
    '--namespace',
    o.namespace,
    '--log-level',
    'warn',
  ];
  // WAL: ~4x fewer fsyncs per commit than the rollback journal, with every commit
  // still synced (synchronous stays at its default: no durability traded away).
  args.push('--sqlite-pragma', 'journal_mode=wal');
  // The history service reads its task queues at most 20 times a second by default,
  // so every workflow task waited for the next 50 ms slot (measured: 36 ms of a 44 ms
  // activity round trip). One operator's load is far below any rate worth limiting.
  for (const queue of ['transfer', 'timer', 'visibility']) {
    args.push('--dynamic-config-value', `history.${queue}ProcessorMaxPollRPS=1000`);
  }
  if (o.headless) args.push('--headless');
  else {
    args.push('--ui-ip', o.ip ?? '127.0.0.1', '--ui-port', String(o.uiPort ?? 8233));
    // The UI's news feed is fetched from the internet by the operator's browser: off.
    if (o.uiNewsFlag ?? true) args.push('--ui-disable-news-fetch');
  }
  if (o.codecEndpoint && !o.headless) args.push('--ui-codec-endpoint', o.codecEndpoint);
  for (const name of SEARCH_ATTRIBUTE_NAMES) args.push('--search-attribute', `${name}=Keyword`);
  return args;
}

export interface RunningServer {
  address: string;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

export async function startEmbeddedServer(o: EmbeddedServerOptions): Promise<RunningServer> {
  fs.mkdirSync(path.dirname(o.dbFile), { recursive: true, mode: 0o700 }); // the dev server won't create it
  const address = `${o.ip ?? '127.0.0.1'}:${o.port ?? 7233}`;
  await refuseIfPortTaken(address);
  const log = fs.openSync(o.logFile, 'a', 0o600);
  // Its own process group: a Ctrl-C in the terminal reaches ssw only, which stops
  // the worker first (letting activities finish) and the server after it.
  const uiNewsFlag = o.uiNewsFlag ?? (o.headless ? false : knowsFlag(o.binary, '--ui-disable-news-fetch'));
  const child = spawn(o.binary, devServerArgs({ ...o, uiNewsFlag }), { stdio: ['ignore', log, log], detached: true });
  fs.closeSync(log);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(null)); // e.g. the binary vanished: reported by waitReady
  });
  // Never leave the server behind when ssw itself exits (an uncaught error, process.exit).
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  void exited.then(() => process.removeListener('exit', killOnExit));
  const stop = async (graceMs = 15000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitReady(address, o, exited);
    await ensureNamespaceSetup(address, o.namespace, o.retentionDays ?? 30);
  } catch (err) {
    await stop(2000);
    throw err;
  }
  return { address, child, stop, exited };
}

/**
 * Whether `temporal server start-dev` accepts a flag: an older binary refuses an
 * unknown one and would not start at all. Asked once per start, from its help text.
 */
function knowsFlag(binary: string, flag: string): boolean {
  const r = spawnSync(binary, ['server', 'start-dev', '--help'], { encoding: 'utf8', timeout: 10_000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.includes(flag);
}

async function refuseIfPortTaken(address: string): Promise<void> {
  try {
    const conn = await Connection.connect({ address, connectTimeout: '1s' });
    await conn.close();
  } catch {
    return; // nothing answers: the port is ours to take
  }
  throw new UserError(
    `Something already answers on ${address}. Is a Temporal server already running? Use it, or choose another --port.`,
  );
}

/** Polls the frontend until the namespace answers; fails fast if the process exits. */
async function waitReady(address: string, o: EmbeddedServerOptions, exited: Promise<number | null>): Promise<void> {
  const deadline = Date.now() + (o.readyTimeoutMs ?? 60000);
  let gone = false;
  void exited.then(() => (gone = true));
  let lastError = '';
  while (Date.now() < deadline) {
    if (gone)
      throw new UserError(`The Temporal server exited during start-up. Its log: ${o.logFile}\n${tail(o.logFile)}`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: '1s' });
      try {
        await conn.workflowService.describeNamespace({ namespace: o.namespace });
        return;
      } finally {
        await conn.close();
      }
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200)); // poll interval, not a fixed wait
  }
  throw new UserError(`The Temporal server did not become ready on ${address} (${lastError}). Its log: ${o.logFile}`);
}

/**
 * The dev server only applies --search-attribute when it creates the
 * namespace, so an existing DB from an older ssw lacks newer attributes:
 * add what is missing, and keep histories for `retentionDays`.
 */
export async function ensureNamespaceSetup(address: string, namespace: string, retentionDays: number): Promise<void> {
  const conn = await Connection.connect({ address });
  try {
    const listed = await conn.operatorService.listSearchAttributes({ namespace });
    const existing = new Set(Object.keys(listed.customAttributes ?? {}));
    const missing = SEARCH_ATTRIBUTE_NAMES.filter((n) => !existing.has(n));
    if (missing.length > 0) {
      await conn.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(
          missing.map((n) => [n, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
        ),
      });
    }
    const ns = await conn.workflowService.describeNamespace({ namespace });
    const wanted = retentionDays * 24 * 3600;
    if (Number(ns.config?.workflowExecutionRetentionTtl?.seconds ?? 0) !== wanted) {
      await conn.workflowService.updateNamespace({
        namespace,
        config: { workflowExecutionRetentionTtl: { seconds: Long.fromNumber(wanted) } },
      });
    }
  } finally {
    await conn.close();
  }
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
