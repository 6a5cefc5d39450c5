import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { temporal } from '@temporalio/proto';
import { DeterminismViolationError } from '@temporalio/workflow';
import { DefaultLogger, Runtime, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { encryptedDataConverter } from '../../common/codec/data-converter';
import { bundleSswWorkflows, workflowsPath } from '../../workers/bundle';
import * as workflows from '../../workflows';
import { tempSsRoot } from '../helpers/temporal';

// Replays recorded histories through today's workflow code: a change that
// would break running workflows (non-determinism) fails here, before it ships.
// How to re-record: test/fixtures/replay/README.md.
const DIR = path.resolve(__dirname, '../../../test/fixtures/replay');

type History = temporal.api.history.v1.History;

let histories: { file: string; type: string; workflowId: string; history: History }[];
let dataConverter: ReplayWorkerOptions['dataConverter'];

before(() => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  // git checks files out 0644; ssw rightly refuses a key others can read, so use a 0600 copy.
  const key = path.join(tempSsRoot(), 'payload.key');
  fs.copyFileSync(path.join(DIR, 'test-only-payload.key'), key);
  fs.chmodSync(key, 0o600);
  dataConverter = encryptedDataConverter(key);
  histories = fs
    .readdirSync(DIR)
    .filter((f) => f.endsWith('.history.bin'))
    .sort()
    .map((file) => {
      const history = temporal.api.history.v1.History.decode(fs.readFileSync(path.join(DIR, file)));
      const started = history.events[0]?.workflowExecutionStartedEventAttributes;
      const type = started?.workflowType?.name;
      assert.ok(type, `${file} starts with WorkflowExecutionStarted`);
      // The recorded id: workflows derive their children's ids from their own.
      return { file, type, workflowId: started?.workflowId || file, history };
    });
});

test('every workflow the worker runs has a recorded history', () => {
  const exported = Object.entries(workflows)
    .filter(([, v]) => typeof v === 'function')
    .map(([name]) => name)
    .sort();
  assert.ok(exported.includes('deploymentUp'), 'the workflows are read from workflows/index');
  const recorded = new Set(histories.map((h) => h.type));
  assert.deepEqual(
    exported.filter((name) => !recorded.has(name)),
    [],
    'workflows without a history in test/fixtures/replay (record one: see its README.md)',
  );
});

test('recorded workflow histories replay without non-determinism', async () => {
  const workflowBundle = await bundleSswWorkflows();
  const failures: string[] = [];
  const replays = Worker.runReplayHistories(
    { workflowBundle, dataConverter },
    histories.map(({ workflowId, history }) => ({ workflowId, history })),
  );
  let replayed = 0;
  for await (const r of replays) {
    const { file } = histories[replayed++]; // one result per history, in order
    if (r.error) failures.push(`${file} (${r.workflowId}): ${r.error.message}`);
  }
  assert.equal(replayed, histories.length);
  assert.deepEqual(failures, []);
});

test('negative control: a workflow with a step added fails replay with a DeterminismViolationError', async () => {
  // A copy of the compiled workflows beside the real ones (so their relative imports still resolve),
  // with checkHost changed the way a careless edit would: one activity call before its first step.
  const real = path.dirname(workflowsPath);
  const copy = fs.mkdtempSync(path.join(path.dirname(real), 'workflows-changed-'));
  try {
    fs.cpSync(real, copy, { recursive: true });
    fs.appendFileSync(
      path.join(copy, 'check-host.js'),
      [
        '',
        '// Planted by test/unit/workflow-replay.test.ts (negative control).',
        'const plantedOriginal = exports.checkHost;',
        'exports.checkHost = async function checkHost(input) {',
        "  const { sshRun } = require('@temporalio/workflow').proxyActivities({ startToCloseTimeout: '1 minute' });",
        "  await sshRun(input.target, ['true']);",
        '  return plantedOriginal(input);',
        '};',
        '',
      ].join('\n'),
    );
    const workflowBundle = await bundleSswWorkflows(path.join(copy, 'index.js'));
    const checkHost = histories.find((h) => h.type === 'checkHost') ?? assert.fail('no checkHost history');
    await assert.rejects(
      Worker.runReplayHistory({ workflowBundle, dataConverter }, checkHost.history, checkHost.workflowId),
      (err: unknown) => {
        assert.ok(err instanceof DeterminismViolationError, `expected a DeterminismViolationError, got: ${err}`);
        return true;
      },
    );
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
});
