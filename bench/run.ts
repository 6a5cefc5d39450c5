/**
 * Benchmarks on the embedded server (SQLite, as an operator runs it):
 *  1. orchestration overhead per activity: a chain of 100 no-op activities;
 *     per activity, the time between consecutive completions minus the time
 *     the activity itself ran (both from history), median and p95;
 *  2. CLI latency: `ssw --help` and `ssw status` (process start to exit).
 * Writes bench/results/latest.json. Usage: npm run bench [-- --runs 5]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { encryptedDataConverter } from '../common/codec/data-converter';
import { SsPaths } from '../common/paths';
import { startEmbeddedServer } from '../client/services/embedded-server';
import { findTemporalBinary } from '../client/services/temporal-binary';
import { bundleSswWorkflows } from '../workers/bundle';
import { createFixtureActivities } from '../test/fixtures/activities';

const PORT = 37233;
const CHAIN = 100;
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const SSW = path.resolve(__dirname, '../client/main.js');
const EventType = temporal.api.enums.v1.EventType;

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo] + (s[Math.ceil(i)] - s[lo]) * (i - lo);
}
const round = (x: number) => Math.round(x * 100) / 100;

function overheadsFromHistory(events: temporal.api.history.v1.IHistoryEvent[]): number[] {
  const started = events
    .filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    .map((e) => ms(e.eventTime));
  const completed = events
    .filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    .map((e) => ms(e.eventTime));
  const out: number[] = [];
  for (let i = 1; i < completed.length; i++) {
    const activityTime = completed[i] - started[i];
    out.push(completed[i] - completed[i - 1] - activityTime);
  }
  return out;
}

function timeCli(args: string[], n: number): { medianMs: number; p95Ms: number } {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [SSW, ...args], { encoding: 'utf8' });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`ssw ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  return { medianMs: round(quantile(times, 0.5)), p95Ms: round(quantile(times, 0.95)) };
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-bench-'));
  const paths = new SsPaths(root);
  const server = await startEmbeddedServer({
    binary: findTemporalBinary(undefined),
    dbFile: paths.temporalDb,
    logFile: path.join(root, 'server.log'),
    namespace: 'default',
    port: PORT,
    headless: true,
  });
  try {
    const connection = await NativeConnection.connect({ address: server.address });
    const worker = await Worker.create({
      connection,
      taskQueue: 'bench',
      workflowBundle: await bundleSswWorkflows(require.resolve('../test/fixtures/workflows')),
      activities: createFixtureActivities(),
      dataConverter: encryptedDataConverter(paths.payloadKey),
    });
    const client = new Client({
      connection: await Connection.connect({ address: server.address }),
      dataConverter: encryptedDataConverter(paths.payloadKey),
    });
    const overheads: number[] = [];
    const walls: number[] = [];
    let lastId = '';
    await worker.runUntil(async () => {
      // One warm-up run: first bundle load, SQLite caches.
      await client.workflow.execute('noopChain', { taskQueue: 'bench', workflowId: 'bench-warmup', args: [10] });
      for (let r = 0; r < runs; r++) {
        lastId = `bench-chain-${r}`;
        const t0 = Date.now();
        await client.workflow.execute('noopChain', { taskQueue: 'bench', workflowId: lastId, args: [CHAIN] });
        walls.push(Date.now() - t0);
        const history = await client.workflow.getHandle(lastId).fetchHistory();
        overheads.push(...overheadsFromHistory(history.events ?? []));
      }
    });
    await client.connection.close();
    await connection.close();

    const cliEnv = ['--ss-root', root, '--temporal-address', server.address];
    const results = {
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        model: os.cpus()[0]?.model,
        memGiB: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
      },
      server: 'temporal server start-dev (SQLite), payload encryption on',
      activityOverhead: {
        chainLength: CHAIN,
        runs,
        samples: overheads.length,
        medianMs: round(quantile(overheads, 0.5)),
        p95Ms: round(quantile(overheads, 0.95)),
        wallPerActivityMs: round(quantile(walls, 0.5) / CHAIN),
        targetMedianMs: 10,
      },
      cli: {
        help: timeCli(['--help'], 10),
        statusRunning: timeCli(['status', ...cliEnv], 10),
        statusOfWorkflow: timeCli(['status', lastId, ...cliEnv], 10),
      },
    };
    fs.mkdirSync(path.join(__dirname, '..', '..', 'bench', 'results'), { recursive: true });
    const out = path.join(__dirname, '..', '..', 'bench', 'results', 'latest.json');
    fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
    console.log(JSON.stringify(results, null, 2));
    console.log(`written to ${path.relative(process.cwd(), out)}`);
  } finally {
    await server.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
