import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { FailureType } from '../../common/failure-types';
import { SsPaths } from '../../common/paths';
import type { deploymentDown } from '../../workflows/deployment-down';
import { createSswWorker } from '../../workers/worker';
import { harness } from '../helpers/harness';
import {
  encryptedClient,
  fixtureBundlePath,
  plainClient,
  tempSsRoot,
  uniqueTaskQueue,
  waitFor,
} from '../helpers/temporal';

// The embedded Temporal server has no authentication: any local process can
// start workflows or run a worker of its own. The real ssw worker must run
// nothing whose input was not encrypted with this machine's key.
const paths = new SsPaths(tempSsRoot('ssw-refuse-'));
const taskQueue = uniqueTaskQueue('refuse');
let client: Client;
let plain: Client;
let worker: Worker;
let running: Promise<void>;

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  client = await encryptedClient(paths.payloadKey);
  plain = await plainClient();
  worker = await createSswWorker({
    connection: await NativeConnection.connect({ address: harness().temporal.address }),
    namespace: harness().temporal.namespace,
    taskQueue,
    paths,
  });
  running = worker.run();
});
after(async () => {
  worker.shutdown();
  await running;
  await client.connection.close();
  await plain.connection.close();
});

const eventTypes = async (workflowId: string) =>
  ((await plain.workflow.getHandle(workflowId).fetchHistory()).events ?? []).map((e) => String(e.eventType));

describe('the ssw worker refuses what it did not encrypt', () => {
  // Bounded: without the refusal the run goes on (or its task is retried forever) instead of failing.
  test(
    'a workflow started with a plaintext input fails at once, non-retryably, and runs no step',
    { timeout: 60_000 },
    async () => {
      const workflowId = `test-refuse-down-${Date.now()}`;
      const input: Parameters<typeof deploymentDown>[0] = {
        remote: 'home',
        deployment: 'public',
        purge: true,
        confirmed: true,
      };
      const handle = await plain.workflow.start('deploymentDown', { taskQueue, workflowId, args: [input] });
      // The worker's failure is encrypted: the encrypting client reads it.
      await assert.rejects(client.workflow.getHandle(workflowId).result(), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.ok(err.cause instanceof ApplicationFailure);
        assert.equal(err.cause.type, FailureType.UnencryptedPayload);
        assert.equal(err.cause.nonRetryable, true);
        assert.match(
          err.cause.message,
          new RegExp(
            `^Refused to run workflow deploymentDown \\(${workflowId}\\): its payload is not encrypted with this machine's payload key`,
          ),
        );
        return true;
      });
      const events = await eventTypes(handle.workflowId);
      assert.ok(events.some((e) => /WORKFLOW_EXECUTION_FAILED|^\d+$/.test(e)));
      assert.ok(
        !events.some((e) => /ACTIVITY_TASK_SCHEDULED/.test(e)),
        `no activity was scheduled: ${events.join(', ')}`,
      );
      assert.ok(
        !events.some((e) => /WORKFLOW_TASK_FAILED/.test(e)),
        'a failed run, not a workflow task retried forever',
      );
    },
  );

  test(
    "an activity scheduled on ssw's task queue by someone else's workflow, in plaintext, is refused",
    { timeout: 60_000 },
    async () => {
      // The outsider's own worker: no codec, its own task queue, a workflow that schedules onto ssw's.
      const outsiderQueue = uniqueTaskQueue('outsider');
      const outsider = await Worker.create({
        connection: await NativeConnection.connect({ address: harness().temporal.address }),
        namespace: harness().temporal.namespace,
        taskQueue: outsiderQueue,
        workflowBundle: { codePath: await fixtureBundlePath() },
      });
      const workflowId = `test-refuse-activity-${Date.now()}`;
      await outsider.runUntil(async () => {
        const handle = await plain.workflow.start('scheduleForeignActivity', {
          taskQueue: outsiderQueue,
          workflowId,
          args: [taskQueue, 'removeInstance', ['home', 'public', 'www', 'www']],
        });
        // The outsider cannot decode ssw's (encrypted) failure either; the history says what happened.
        const failed = await waitFor('the activity to fail', async () => {
          const history = await plain.workflow.getHandle(workflowId).fetchHistory();
          return history.events?.find((e) => e.activityTaskFailedEventAttributes)?.activityTaskFailedEventAttributes;
        });
        const info = failed.failure?.applicationFailureInfo;
        assert.equal(info?.type, FailureType.UnencryptedPayload);
        assert.equal(info?.nonRetryable, true);
        const history = await plain.workflow.getHandle(workflowId).fetchHistory();
        const started = history.events?.find(
          (e) => e.activityTaskStartedEventAttributes,
        )?.activityTaskStartedEventAttributes;
        assert.equal(started?.attempt, 1, 'refused on the first attempt, never retried');
        await handle.terminate('test over');
      });
    },
  );
});
