#!/usr/bin/env node
// The README's test command (`npm test`, after the build): runs every compiled
// test file with node's built-in runner, one file at a time (2 cores; the
// integration suites share one harness), unit tests first so a broken pure
// function fails fast. Suites needing the harness fail loudly when it is down;
// a test that hangs fails after 10 minutes instead of holding CI to its limit.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', 'dist', 'test');
const layers = ['unit', 'integration', 'e2e'];
const only = process.argv.slice(2); // optional: layer names or substrings of file names

function testFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? testFiles(path.join(dir, e.name)) : e.name.endsWith('.test.js') ? [path.join(dir, e.name)] : [],
    )
    .sort();
}

const files = layers
  .flatMap((layer) => testFiles(path.join(root, layer)))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
if (files.length === 0) {
  console.error('No test files found under dist/test: run "npm run build" first.');
  process.exit(1);
}
// The suites that prove a backend end to end run a second time against the harness Incus
// (SSW_TEST_BACKEND=incus; the first pass is LXD 5.0's). Setting SSW_TEST_BACKEND yourself runs
// one pass, with that backend only.
const BACKEND_SUITES = ['e2e/cli-remote.', 'e2e/cli-deployment.', 'e2e/cli-services.', 'integration/lxd-client.'];
const explicit = process.env.SSW_TEST_BACKEND;
const passes = explicit
  ? [{ backend: explicit, files }]
  : [
      { backend: 'lxd', files },
      { backend: 'incus', files: files.filter((f) => BACKEND_SUITES.some((s) => f.includes(s))) },
    ];

let status = 0;
for (const pass of passes) {
  if (pass.files.length === 0) continue;
  if (passes.length > 1) console.log(`\n# ${pass.backend}: ${pass.files.length} test file(s)`);
  const r = spawnSync(
    process.execPath,
    ['--test', '--test-concurrency=1', '--test-timeout=600000', '--test-reporter=spec', ...pass.files],
    { stdio: 'inherit', env: { ...process.env, SSW_TEST_BACKEND: pass.backend } },
  );
  status = status || (r.status ?? 1);
}
process.exit(status);
