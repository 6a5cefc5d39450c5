import { ChildProcess, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { encryptedDataConverter } from '../../common/codec/data-converter';
import { bundleSswWorkflows } from '../../workers/bundle';
import { harness } from './harness';

/** A fresh $SS_ROOT for one test file. */
export function tempSsRoot(prefix = 'ssw-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function uniqueTaskQueue(name: string): string {
  return `${name}-${crypto.randomUUID().slice(0, 8)}`;
}

/** A client on the harness server with the encrypting data converter of `payloadKeyFile`. */
export async function encryptedClient(payloadKeyFile: string): Promise<Client> {
  const h = harness();
  const connection = await Connection.connect({ address: h.temporal.address });
  return new Client({
    connection,
    namespace: h.temporal.namespace,
    dataConverter: encryptedDataConverter(payloadKeyFile),
  });
}

/** Runs `fn` with an encryptedClient, closing its connection afterwards. */
export async function withEncryptedClient<T>(payloadKeyFile: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await encryptedClient(payloadKeyFile);
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

/** A client with NO codec: sees what the server stores. */
export async function plainClient(): Promise<Client> {
  const h = harness();
  const connection = await Connection.connect({ address: h.temporal.address });
  return new Client({ connection, namespace: h.temporal.namespace });
}

let fixtureBundle: Promise<string> | undefined;

/** Bundles the fixture workflows once per test process, written to a file child workers can load. */
export function fixtureBundlePath(): Promise<string> {
  fixtureBundle ??= (async () => {
    const bundle = await bundleSswWorkflows(require.resolve('../fixtures/workflows'));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-bundle-')), 'workflows.js');
    fs.writeFileSync(file, bundle.code);
    return file;
  })();
  return fixtureBundle;
}

export interface ChildWorker {
  child: ChildProcess;
  exited: Promise<void>;
}

/** Starts test/fixtures/fixture-worker in a child process and waits until it polls. */
export async function spawnFixtureWorker(taskQueue: string, payloadKeyFile: string): Promise<ChildWorker> {
  const h = harness();
  const child = spawn(process.execPath, [require.resolve('../fixtures/fixture-worker')], {
    env: {
      ...process.env,
      SSW_TEST_ADDRESS: h.temporal.address,
      SSW_TEST_NAMESPACE: h.temporal.namespace,
      SSW_TEST_TASK_QUEUE: taskQueue,
      SSW_TEST_BUNDLE: await fixtureBundlePath(),
      SSW_TEST_PAYLOAD_KEY: payloadKeyFile,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('fixture worker not READY after 60 s'));
    }, 60000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('READY')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fixture worker exited with ${code} before READY`));
    });
  });
  return { child, exited };
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 30000,
  everyMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
