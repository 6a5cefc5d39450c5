import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { encryptedDataConverter } from '../../common/codec/data-converter';
import { bundleSswWorkflows } from '../../workers/bundle';
import { tempSsRoot } from '../helpers/temporal';

// Replays recorded histories through today's workflow code: a change that
// would break running workflows (non-determinism) fails here, before it ships.
// Re-record on purpose with test/fixtures/replay/record.ts.
const DIR = path.resolve(__dirname, '../../../test/fixtures/replay');

test('recorded workflow histories replay without non-determinism', async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.history.bin'));
  assert.ok(files.length > 0, 'at least one recorded history');
  const workflowBundle = await bundleSswWorkflows();
  // git checks files out 0644; ssw rightly refuses a key others can read, so use a 0600 copy.
  const key = path.join(tempSsRoot(), 'payload.key');
  fs.copyFileSync(path.join(DIR, 'test-only-payload.key'), key);
  fs.chmodSync(key, 0o600);
  for (const file of files) {
    const history = temporal.api.history.v1.History.decode(fs.readFileSync(path.join(DIR, file)));
    await Worker.runReplayHistory(
      { workflowBundle, dataConverter: encryptedDataConverter(key) },
      history,
      file,
    );
  }
});
