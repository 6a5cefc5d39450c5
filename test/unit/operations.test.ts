import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  conflictingWorkflowIds,
  EXCLUSIVE_OPERATIONS,
  runningExclusiveQuery,
  workflowIdFor,
} from '../../common/temporal/operations';
import { operationSearchAttributes } from '../../common/temporal/search-attributes';
import { listQuery } from '../../client/commands/list';
import { hostTarget } from '../../client/commands/host';
import { devServerArgs } from '../../client/services/embedded-server';
import { webUiBase, writeServerRecord } from '../../client/services/server-record';
import { SsPaths } from '../../common/paths';

describe('workflow identity', () => {
  test('IDs are <operation>/<remote>/<deployment>', () => {
    assert.equal(workflowIdFor('up', { remote: 'home', deployment: 'public' }), 'up/home/public');
    assert.equal(workflowIdFor('provision-remote', { remote: 'home' }), 'provision-remote/home');
    assert.equal(workflowIdFor('check-host', { remote: '127.0.0.1:2222' }), 'check-host/127.0.0.1:2222');
    assert.equal(workflowIdFor('check-host', { remote: '[::1]:22' }), 'check-host/[::1]:22');
    assert.equal(hostTarget({ host: 'fe80::1', port: 22 }).remote, '[fe80::1]:22');
  });

  test('IDs refuse parts that could break the separator or carry junk', () => {
    for (const bad of ['a/b', 'A', '', ' x', 'x y', '$(id)', '-x', '[::1', '[x]:1', '[::1]:22/x']) {
      if (bad === '') continue; // empty parts are dropped, not rejected
      assert.throws(() => workflowIdFor('up', { remote: bad }), TypeError, bad);
    }
  });

  test('an exclusive operation conflicts with every other exclusive one on the same target', () => {
    const ids = conflictingWorkflowIds('up', { remote: 'home', deployment: 'public' });
    assert.ok(ids.includes('down/home/public'));
    assert.ok(ids.includes('restore/home/public'));
    assert.ok(ids.includes('provision-remote/home'), 'a remote-wide operation blocks deployment operations');
    assert.ok(!ids.includes('up/home/public'), 'the same operation attaches instead');
    assert.deepEqual(conflictingWorkflowIds('check-host', { remote: 'h' }), [], 'read-only operations never block');
  });

  test('the exclusive operations, and the query for those running on a target', () => {
    const ops = ['provision-remote', 'deprovision-remote', 'up', 'down', 'restore', 'backup', 'backup-verify'];
    ops.push('cert-renew', 'cert-restore');
    assert.deepEqual(EXCLUSIVE_OPERATIONS, ops);
    const quoted = ops.map((o) => `"${o}"`).join(', ');
    assert.equal(
      runningExclusiveQuery({ remote: 'home', deployment: 'public' }),
      'SsRemote = "home" AND (SsDeployment = "public" OR SsDeployment IS NULL)' +
        ` AND SsOperation IN (${quoted}) AND ExecutionStatus = "Running"`,
    );
    const remoteWide = `SsRemote = "home" AND SsOperation IN (${quoted}) AND ExecutionStatus = "Running"`;
    assert.equal(runningExclusiveQuery({ remote: 'home' }), remoteWide);
  });

  test('a run is tagged with its operation, remote, and deployment or site when it has one', () => {
    const tags = (t: Parameters<typeof operationSearchAttributes>[1]) =>
      operationSearchAttributes('backup', t).map((p) => [p.key.name, p.value]);
    const deployment = [
      ['SsOperation', 'backup'],
      ['SsRemote', 'home'],
      ['SsDeployment', 'public'],
    ];
    assert.deepEqual(tags({ remote: 'home', deployment: 'public' }), deployment);
    const site = [
      ['SsOperation', 'backup'],
      ['SsRemote', 'h:22'],
      ['SsSite', 'example.com'],
    ];
    assert.deepEqual(tags({ remote: 'h:22', site: 'example.com' }), site);
  });
});

describe('ssw list query', () => {
  test('filters by validated names only', () => {
    assert.equal(
      listQuery({ deployment: 'public', running: true }),
      'SsDeployment = "public" AND ExecutionStatus = "Running"',
    );
    assert.equal(listQuery({ running: false }), '');
    assert.throws(() => listQuery({ deployment: 'x" OR 1=1', running: false }), /--deployment .* is not a valid name/);
  });
});

describe('embedded server argv', () => {
  test('binds to loopback with SQLite, the UI codec endpoint and every search attribute', () => {
    const args = devServerArgs({
      binary: '/usr/bin/temporal',
      dbFile: '/root/ss/temporal/temporal.db',
      logFile: '/root/ss/temporal/server.log',
      namespace: 'default',
      codecEndpoint: 'http://127.0.0.1:8888',
    });
    assert.deepEqual(args, [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      '7233',
      '--db-filename',
      '/root/ss/temporal/temporal.db',
      '--namespace',
      'default',
      '--log-level',
      'warn',
      '--sqlite-pragma',
      'journal_mode=wal',
      '--dynamic-config-value',
      'history.transferProcessorMaxPollRPS=1000',
      '--dynamic-config-value',
      'history.timerProcessorMaxPollRPS=1000',
      '--dynamic-config-value',
      'history.visibilityProcessorMaxPollRPS=1000',
      '--ui-ip',
      '127.0.0.1',
      '--ui-port',
      '8233',
      '--ui-disable-news-fetch',
      '--ui-codec-endpoint',
      'http://127.0.0.1:8888',
      '--search-attribute',
      'SsRemote=Keyword',
      '--search-attribute',
      'SsDeployment=Keyword',
      '--search-attribute',
      'SsOperation=Keyword',
      '--search-attribute',
      'SsSite=Keyword',
    ]);
  });

  test('headless leaves out the UI and its codec endpoint', () => {
    const args = devServerArgs({
      binary: 't',
      dbFile: 'd',
      logFile: 'l',
      namespace: 'n',
      headless: true,
      codecEndpoint: 'http://x',
    });
    assert.ok(args.includes('--headless'));
    assert.ok(
      !args.includes('--ui-port') && !args.includes('--ui-codec-endpoint') && !args.includes('--ui-disable-news-fetch'),
    );
  });

  test('a binary without --ui-disable-news-fetch (older than the UI news feed) is not given it', () => {
    const args = devServerArgs({ binary: 't', dbFile: 'd', logFile: 'l', namespace: 'n', uiNewsFlag: false });
    assert.ok(args.includes('--ui-port') && !args.includes('--ui-disable-news-fetch'));
  });
});

describe('the Web UI a link points at', () => {
  const paths = new SsPaths(fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-ui-')));
  const noEnv = {};

  test("the default server's default UI, until an embedded server records another port", () => {
    assert.equal(webUiBase(paths, '127.0.0.1:7233', noEnv), 'http://127.0.0.1:8233');
    writeServerRecord(paths, { address: '127.0.0.1:7233', webUi: 'http://127.0.0.1:9233' });
    assert.equal(webUiBase(paths, '127.0.0.1:7233', noEnv), 'http://127.0.0.1:9233');
    assert.equal(webUiBase(paths, 'localhost:7233', noEnv), 'http://127.0.0.1:9233');
  });

  test('none when it cannot be known: a headless server, a server elsewhere', () => {
    writeServerRecord(paths, { address: '127.0.0.1:7233', webUi: null });
    assert.equal(webUiBase(paths, '127.0.0.1:7233', noEnv), undefined);
    assert.equal(webUiBase(paths, 'temporal.example.net:7233', noEnv), undefined);
  });

  test('$SSW_UI_URL wins', () => {
    assert.equal(
      webUiBase(paths, 'temporal.example.net:7233', { SSW_UI_URL: 'https://ui.example.net/' }),
      'https://ui.example.net',
    );
  });
});
