import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { AesGcmPayloadCodec } from '../../common/codec/aes-gcm-codec';
import { loadOrCreateKeyring } from '../../common/codec/keyring';
import { SsPaths } from '../../common/paths';
import {
  ChildWorker,
  encryptedClient,
  plainClient,
  spawnFixtureWorker,
  tempSsRoot,
  uniqueTaskQueue,
} from '../helpers/temporal';

const MARKER = `ssw-marker-${Date.now()}-secret`;
const paths = new SsPaths(tempSsRoot());
const taskQueue = uniqueTaskQueue('encryption');
let worker: ChildWorker;
let client: Client;
let plain: Client;

before(async () => {
  client = await encryptedClient(paths.payloadKey);
  plain = await plainClient();
  worker = await spawnFixtureWorker(taskQueue, paths.payloadKey);
});
after(async () => {
  worker.child.kill('SIGTERM');
  await worker.exited;
  await client.connection.close();
  await plain.connection.close();
});

/** The whole history as the server stores it, in bytes: what anyone with server access could read. */
async function rawHistoryBytes(workflowId: string): Promise<Buffer> {
  const history = await plain.workflow.getHandle(workflowId).fetchHistory();
  return Buffer.from(temporal.api.history.v1.History.encode(history).finish());
}

test('workflow input and result are encrypted in history and decode with the codec', async () => {
  const workflowId = `test-encryption-${Date.now()}`;
  const result = await client.workflow.execute('echoWorkflow', { taskQueue, workflowId, args: [{ text: MARKER }] });
  assert.deepEqual(result, { echoed: `echo:${MARKER}` }, 'the codec client decodes the result');

  const raw = await rawHistoryBytes(workflowId);
  assert.ok(raw.length > 0);
  assert.ok(!raw.includes(MARKER), 'the marker appears nowhere in the raw history');

  // A client without the codec sees only ciphertext...
  await assert.rejects(plain.workflow.getHandle(workflowId).result(), /Unknown encoding|binary\/encrypted/);
  // ...and the codec turns the stored input back into the marker.
  const history = await plain.workflow.getHandle(workflowId).fetchHistory();
  const started = history.events![0].workflowExecutionStartedEventAttributes!;
  const codec = new AesGcmPayloadCodec(loadOrCreateKeyring(paths.payloadKey));
  const [input] = await codec.decode(started.input!.payloads!);
  assert.deepEqual(defaultPayloadConverter.fromPayload(input), { text: MARKER });
});

test('failure messages are encrypted in history too, and readable through the codec', async () => {
  const workflowId = `test-encryption-fail-${Date.now()}`;
  await assert.rejects(
    client.workflow.execute('failingWorkflow', { taskQueue, workflowId, args: [`cannot reach ${MARKER}`] }),
    (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      const cause = err.cause?.cause;
      assert.ok(cause instanceof ApplicationFailure);
      assert.equal(cause.message, `cannot reach ${MARKER}`, 'the codec client reads the real message');
      assert.equal(cause.type, 'FixtureFailure', 'types stay readable for retry policies');
      return true;
    },
  );
  assert.ok(!(await rawHistoryBytes(workflowId)).includes(MARKER));
});
