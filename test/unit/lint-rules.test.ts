import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

// The lint rules that guard workflow determinism are part of the product's safety, so they
// are tested like code: planted bad imports in a workflow file are reported, the same
// imports elsewhere and type-only activity imports are not.
const ROOT = path.resolve(__dirname, '../../..');

async function rulesHit(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

test('a workflow importing a Node built-in is refused by the linter', async () => {
  for (const spec of ['node:fs', 'child_process']) {
    const hits = await rulesHit('workflows/planted.ts', `import * as x from '${spec}';\nexport const y = x;\n`);
    assert.ok(
      hits.some((h) => h.includes('no-restricted-imports') && h.includes('no Node built-ins')),
      `${spec}: ${hits.join('; ')}`,
    );
  }
});

test('a workflow importing an activity value is refused; an activity type is allowed', async () => {
  const value = await rulesHit(
    'workflows/planted.ts',
    `import { createActivities } from '../activities';\nexport const y = createActivities;\n`,
  );
  assert.ok(
    value.some((h) => h.includes('activity types only')),
    value.join('; '),
  );
  const typeOnly = await rulesHit(
    'workflows/planted.ts',
    `import type { SswActivities } from '../activities';\nexport type Y = SswActivities;\n`,
  );
  assert.deepEqual(typeOnly, []);
});

test('the same Node import outside workflows/ is fine', async () => {
  assert.deepEqual(
    await rulesHit('activities/planted.ts', `import * as fs from 'node:fs';\nexport const y = fs;\n`),
    [],
  );
});

test('lines over 120 characters are reported', async () => {
  const hits = await rulesHit('common/planted.ts', `// ${'x'.repeat(130)}\nexport const y = 1;\n`);
  assert.ok(
    hits.some((h) => h.startsWith('max-len')),
    hits.join('; '),
  );
});
