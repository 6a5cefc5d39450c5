import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';

// Workflow code must stay deterministic: no Node built-ins, no I/O libraries,
// and activities imported as types only. (The bundler catches some of this at
// worker start; this catches it at test time, with the file and line.)
const WORKFLOWS = path.resolve(__dirname, '../../../workflows');
const ALLOWED_VALUE_IMPORTS = [/^@temporalio\/(workflow|common)$/, /^\.\/[a-z-]+$/, /^\.\.\/common\/(temporal\/(operations|search-attributes|defaults)|failure-types)$/];

test('workflows import only the workflow API, pure shared modules, and activity types', () => {
  const problems: string[] = [];
  for (const file of fs.readdirSync(WORKFLOWS).filter((f) => f.endsWith('.ts'))) {
    const lines = fs.readFileSync(path.join(WORKFLOWS, file), 'utf8').split('\n');
    lines.forEach((line, i) => {
      const m = /^import\s+(type\s+)?.*from\s+'([^']+)'/.exec(line) ?? /require\('([^']+)'\)/.exec(line);
      if (!m) return;
      const isType = Boolean(m[1]) && m.length === 3;
      const spec = m[m.length - 1];
      if (isType) return;
      if (!ALLOWED_VALUE_IMPORTS.some((re) => re.test(spec))) problems.push(`workflows/${file}:${i + 1}: imports '${spec}' as a value`);
    });
    lines.forEach((line, i) => {
      if (/\b(Date\.now|setTimeout|setInterval|Math\.random|process\.)/.test(line) && !/^\s*(\/\/|\*)/.test(line)) {
        problems.push(`workflows/${file}:${i + 1}: uses a non-deterministic API (use sleep, condition, uuid4 from @temporalio/workflow)`);
      }
    });
  }
  assert.deepEqual(problems, []);
});
