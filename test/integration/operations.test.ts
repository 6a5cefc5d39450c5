import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { SswActivities } from '../../activities';
import { encryptedDataConverter } from '../../common/codec/data-converter';
import { UserError } from '../../common/errors';
import { SsPaths } from '../../common/paths';
import { startOperation } from '../../client/start-operation';
import { askReadOnly } from '../../client/read-only';
import { queryProgress } from '../../client/follow';
import { harness } from '../helpers/harness';
import { ssw } from '../helpers/cli';
import { encryptedClient, tempSsRoot, uniqueTaskQueue, waitFor } from '../helpers/temporal';
import type { ProgressSnapshot } from '../../workflows/progress';

// The operation lock and progress query on the real server. The lock tests start
// real operations on a task queue nothing polls, so their workflows never run. Activities are
// stand-ins here on purpose: this tests the workflow-side branching only (the
// SSH activities have their own integration tests against real sshd).
const paths = new SsPaths(tempSsRoot());
let client: Client;
before(async () => {
  client = await encryptedClient(paths.payloadKey);
});
after(() => client.connection.close());

describe('operation lock', () => {
  test("a read-only question with its own input never attaches to another caller's run: show gets an ID per run", async () => {
    const taskQueue = uniqueTaskQueue('no-worker');
    const target = { remote: `show${Date.now()}`, deployment: 'public' };
    const all = await startOperation(client, { operation: 'show', target, input: target, taskQueue });
    const skipping = { ...target, skip: { btcpayserver: true } };
    const other = await startOperation(client, { operation: 'show', target, input: skipping, taskQueue });
    assert.equal(other.attached, false, 'a show with other flags gets its own run and so its own answer');
    assert.notEqual(other.handle.workflowId, all.handle.workflowId);
    for (const h of [all.handle, other.handle]) {
      assert.match(h.workflowId, new RegExp(`^show/${target.remote}/public/[0-9a-f-]{36}$`));
      await h.terminate('test over');
    }
  });

  test('a question with no worker to answer it is withdrawn with a clear error instead of hanging', async () => {
    const taskQueue = uniqueTaskQueue('no-worker');
    const target = { remote: `ask${Date.now()}`, deployment: 'public' };
    const errors: string[] = [];
    const io = { out: () => undefined, err: (t: string) => void errors.push(t), isTTY: false, exitCode: 0 };
    const req = { operation: 'show' as const, target, input: target, taskQueue };
    await assert.rejects(askReadOnly(client, io, req, { noWorkerWaitMs: 1500 }), (err: unknown) => {
      assert.ok(err instanceof UserError, String(err));
      assert.match(err.message, new RegExp(`No worker is polling task queue "${taskQueue}".*Start one`));
      return true;
    });
    assert.match(errors.join('\n'), /waiting 2 s for one/);
    // The run was started (so it is listed) and then withdrawn: terminated, not left running.
    // Visibility lags a moment behind the terminate.
    await waitFor('the withdrawn show run listed as terminated', async () => {
      const { executions } = await client.workflowService.listWorkflowExecutions({
        namespace: client.options.namespace,
        query: `WorkflowId STARTS_WITH "show/${target.remote}/"`,
      });
      const statuses = (executions ?? []).map((e) => e.status);
      return statuses.length === 1 && statuses[0] === 5 /* TERMINATED */ ? true : undefined;
    });
  });

  test('a second identical operation attaches; a conflicting one is refused naming the running one', async () => {
    const taskQueue = uniqueTaskQueue('no-worker'); // nothing polls: the run stays open
    const target = { remote: `lock${Date.now()}`, deployment: 'public' };
    const up = await startOperation(client, { operation: 'up', target, input: target, taskQueue });
    assert.equal(up.attached, false);
    assert.equal(up.handle.workflowId, `up/${target.remote}/public`);

    const again = await startOperation(client, { operation: 'up', target, input: target, taskQueue });
    assert.equal(again.attached, true);
    assert.equal(again.handle.workflowId, up.handle.workflowId);

    await assert.rejects(
      startOperation(client, { operation: 'down', target, input: target, taskQueue }),
      (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.match(
          err.message,
          new RegExp(
            `Another operation is running on deployment public on remote ${target.remote}: up/${target.remote}/public`,
          ),
        );
        assert.match(err.message, /ssw status up\/.* --follow/);
        assert.match(err.message, /ssw cancel up\//);
        return true;
      },
    );
    // A different deployment on the same remote is not blocked.
    const intranet = { ...target, deployment: 'intranet' };
    const other = await startOperation(client, { operation: 'down', target: intranet, input: intranet, taskQueue });
    assert.equal(other.attached, false);

    // Tagged for `ssw list --deployment`.
    const desc = await up.handle.describe();
    assert.deepEqual(desc.searchAttributes.SsOperation, ['up']);
    assert.deepEqual(desc.searchAttributes.SsDeployment, ['public']);
    await up.handle.terminate('test over');
    await other.handle.terminate('test over');
  });
});

/** Never run (nothing polls the queue): only its type matters. */
function provisionInput(remote: string) {
  const target = { host: '127.0.0.1', port: 1, user: 'root' };
  return { remote, target, disk: 'dir', backend: 'lxd' as const, apiPort: 8443 };
}

describe('remote-wide operations', () => {
  test('provisioning a remote is refused while a deployment operation runs on it', async () => {
    const taskQueue = uniqueTaskQueue('no-worker');
    const remote = `wide${Date.now()}`;
    const deployment = { remote, deployment: 'public' };
    const up = await startOperation(client, { operation: 'up', target: deployment, input: deployment, taskQueue });
    try {
      // Visibility lags a moment; wait until the run is visible before asking.
      await waitFor('the up run to be visible', async () => {
        const page = await client.workflowService.listWorkflowExecutions({
          namespace: client.options.namespace,
          query: `SsRemote = "${remote}" AND ExecutionStatus = "Running"`,
        });
        return (page.executions ?? []).length > 0;
      });
      await assert.rejects(
        startOperation(client, {
          operation: 'provision-remote',
          target: { remote },
          input: provisionInput(remote),
          taskQueue,
        }),
        new RegExp(`Another operation is running on remote ${remote}: up/${remote}/public`),
      );
    } finally {
      await up.handle.terminate('test over');
    }
  });
});

describe('progress query', () => {
  test('reports each step as it runs and finishes, with the search attributes set by the workflow', async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const taskQueue = uniqueTaskQueue('progress');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const worker = await Worker.create({
      connection: await NativeConnection.connect({ address: harness().temporal.address }),
      namespace: harness().temporal.namespace,
      taskQueue,
      workflowsPath: require.resolve('../../workflows'),
      dataConverter: encryptedDataConverter(paths.payloadKey),
      activities: {
        sshCheck: async () => ({
          hostKeyFingerprint: 'SHA256:x',
          os: { id: 'debian', versionId: '12', prettyName: 'Debian 12' },
          kernel: 'Linux 6',
          arch: 'x86_64',
        }),
        sshRun: async (_t: unknown, argv: string[]) => {
          if (argv[0] === 'df') {
            await gate;
            return {
              exitCode: 0,
              stdout: 'Filesystem 1024-blocks Used Available Capacity Mounted\n/dev/x 100 50 50 50% /\n',
              stderr: '',
            };
          }
          return { exitCode: 0, stdout: 'docker\nlxd\n', stderr: '' };
        },
      } satisfies Partial<SswActivities>,
    });
    await worker.runUntil(async () => {
      // Started by hand (as a Schedule or the UI would): the workflow tags itself.
      const handle = await client.workflow.start('checkHost', {
        taskQueue,
        workflowId: `test-progress-${Date.now()}`,
        args: [{ target: { host: '127.0.0.1', port: 1, user: 'root', privateKeyPath: '/dev/null' } }],
      });
      const mid = await waitFor('the disk step to run', async () => {
        const s = await queryProgress(client, handle);
        return s?.current.includes('Measure free disk space') ? s : undefined;
      });
      assert.deepEqual(
        mid.steps.map((s) => s.state),
        ['done', 'done', 'running'],
      );
      assert.equal(mid.percent, 67);
      assert.equal(mid.state, 'running');
      release();
      const result = await handle.result();
      assert.deepEqual(result.tools, ['docker', 'lxd']);
      assert.equal(result.rootFreeKiB, 50);
      const end = await handle.query<ProgressSnapshot>('progress');
      assert.equal(end.state, 'done');
      assert.equal(end.percent, 100);
      const desc = await handle.describe();
      assert.deepEqual(desc.searchAttributes.SsOperation, ['check-host']);
      assert.deepEqual(desc.searchAttributes.SsRemote, ['127.0.0.1:1']);
    });
  });
});

describe('workflows encrypted with another key', () => {
  test('ssw list still lists them; ssw status explains the missing key instead of crashing', async () => {
    const taskQueue = uniqueTaskQueue('foreign');
    const workflowId = `test-foreign-key-${Date.now()}`;
    const handle = await client.workflow.start('noopChain', {
      taskQueue,
      workflowId,
      args: [1],
      memo: { note: 'encrypted' },
    });
    try {
      const other = [
        '--ss-root',
        tempSsRoot(),
        '--temporal-address',
        harness().temporal.address,
        '--namespace',
        harness().temporal.namespace,
      ];
      const listed = await waitFor('the workflow to be listed', () => {
        const r = ssw(['list', '--json', '--limit', '500', ...other]);
        assert.equal(r.status, 0, r.stderr);
        return (JSON.parse(r.stdout) as { workflowId: string }[]).some((w) => w.workflowId === workflowId);
      });
      assert.ok(listed);
      const status = ssw(['status', workflowId, ...other]);
      assert.equal(status.status, 2);
      assert.match(status.stderr, /encrypted with payload key k[0-9a-f]+, which is not in this machine's/);
    } finally {
      await handle.terminate('test over');
    }
  });
});
