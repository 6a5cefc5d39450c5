import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { AesGcmPayloadCodec, ENCODING } from '../../common/codec/aes-gcm-codec';
import { encryptedDataConverter } from '../../common/codec/data-converter';
import { parseKeyring } from '../../common/codec/keyring';
import { SsPaths } from '../../common/paths';

/**
 * Opt-in recording of the replay fixtures (test/fixtures/replay/README.md): with
 * SSW_RECORD_HISTORIES=DIR, stopService() of an `ssw worker` writes the history of every closed
 * workflow on that worker's task queue to DIR, one `<type>.<status>.<id>.<run>.history.bin` each.
 * The e2e suites encrypt with their own $SS_ROOT key, so every payload is re-encrypted with the
 * test-only key the replay test holds. Unset (the default), nothing happens.
 */
export const RECORD_ENV = 'SSW_RECORD_HISTORIES';

/** The test-only key of the replay fixtures (not a secret), from the source tree. */
export const REPLAY_KEY_FILE = path.resolve(__dirname, '../../../test/fixtures/replay/test-only-payload.key');

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Called by stopService with the service's argv; records only workers, only when asked to. */
export async function recordHistoriesOf(args: string[]): Promise<void> {
  const dir = process.env[RECORD_ENV];
  if (!dir || args[0] !== 'worker') return;
  const root = flag(args, '--ss-root');
  const taskQueue = flag(args, '--task-queue');
  const address = flag(args, '--temporal-address');
  const namespace = flag(args, '--namespace') ?? 'default';
  if (!root || !taskQueue || !address) {
    throw new Error(`${RECORD_ENV}: the worker's argv lacks --ss-root, --task-queue or --temporal-address`);
  }
  const rootKey = new SsPaths(root).payloadKey;
  const from = new AesGcmPayloadCodec(parseKeyring(fs.readFileSync(rootKey, 'utf8'), rootKey));
  const to = new AesGcmPayloadCodec(parseKeyring(fs.readFileSync(REPLAY_KEY_FILE, 'utf8'), REPLAY_KEY_FILE));
  fs.mkdirSync(dir, { recursive: true });
  const connection = await Connection.connect({ address });
  try {
    // The suite's own key decodes the listing's memos; the histories themselves come back still encrypted.
    const client = new Client({ connection, namespace, dataConverter: encryptedDataConverter(rootKey) });
    const query = `TaskQueue = '${taskQueue}' AND ExecutionStatus != 'Running'`;
    for await (const wf of client.workflow.list({ query })) {
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      await reencrypt(history, from, to);
      const id = wf.workflowId.replace(/[^A-Za-z0-9_-]+/g, '_');
      const file = path.join(dir, `${wf.type}.${wf.status.name}.${id}.${wf.runId}.history.bin`);
      fs.writeFileSync(file, temporal.api.history.v1.History.encode(history).finish());
    }
  } finally {
    await connection.close();
  }
}

function isEncryptedPayload(v: object): v is Payload {
  const metadata = (v as Payload).metadata;
  const encoding = metadata?.[METADATA_ENCODING_KEY];
  return encoding instanceof Uint8Array && Buffer.from(encoding).toString() === ENCODING && 'data' in v;
}

/** Replaces, in place, every encrypted payload anywhere in `node` by the same payload under `to`'s key. */
async function reencrypt(node: unknown, from: AesGcmPayloadCodec, to: AesGcmPayloadCodec): Promise<void> {
  if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return;
  if (isEncryptedPayload(node)) {
    const [plain] = await from.decode([node]);
    const [sealed] = await to.encode([plain]);
    node.metadata = sealed.metadata;
    node.data = sealed.data;
    return;
  }
  for (const child of Array.isArray(node) ? node : Object.values(node)) await reencrypt(child, from, to);
}
