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
const r = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=1', '--test-timeout=600000', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
