import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createTemporalActivities } from '../../activities/temporal';
import { SsOperation, SsRemote } from '../../common/temporal/search-attributes';
import { harness } from '../helpers/harness';
import { plainClient, uniqueTaskQueue, waitFor } from '../helpers/temporal';
import type { Client } from '@temporalio/client';

// waitForExclusiveTurn against the harness Temporal's visibility: a run that started
// earlier on the same target is waited for; one that started later is not.
let client: Client;
let connection: Connection;
const remote = `excl-${Date.now()}`;

before(async () => {
  client = await plainClient();
  connection = await Connection.connect({ address: harness().temporal.address });
});
after(async () => {
  await client.connection.close();
  await connection.close();
});

test('an exclusive operation waits for the earlier one on its target, not for later ones', async () => {
  // The earlier operation: a run nobody polls for, so it stays running until terminated.
  const earlier = await client.workflow.start('backupDeployment', {
    taskQueue: uniqueTaskQueue('nobody'),
    workflowId: `backup/${remote}`,
    args: [{}],
    typedSearchAttributes: [
      { key: SsOperation, value: 'backup' },
      { key: SsRemote, value: remote },
    ],
  });
  await waitFor('the run to be visible', async () => {
    const page = await connection.workflowService.listWorkflowExecutions({
      namespace: harness().temporal.namespace,
      query: `SsRemote = "${remote}"`,
    });
    return (page.executions ?? []).length > 0 || undefined;
  });
  const { waitForExclusiveTurn } = createTemporalActivities({
    visibility: { workflowService: connection.workflowService, namespace: harness().temporal.namespace },
  });
  const env = new MockActivityEnvironment({ workflowExecution: { workflowId: `restore/${remote}`, runId: 'r' } });

  // Started before it: no wait.
  const first = await env.run(waitForExclusiveTurn, {
    target: { remote },
    startedAt: new Date(Date.now() - 3600_000).toISOString(),
  });
  assert.deepEqual(first, { waitedFor: [] });

  // Started after it: waits until it is gone.
  let done = false;
  const sawEarlier = new Promise<unknown>((resolve) => env.once('heartbeat', resolve)); // it heartbeats once it has seen a run to wait for
  const waiting = env
    .run(waitForExclusiveTurn, { target: { remote }, startedAt: new Date().toISOString() })
    .finally(() => (done = true));
  assert.deepEqual(await sawEarlier, { waitingFor: [`backup/${remote}`] });
  assert.equal(done, false, 'it waits while the earlier operation runs');
  await earlier.terminate('test: the earlier operation ends');
  assert.deepEqual(await waiting, { waitedFor: [`backup/${remote}`] });
});
