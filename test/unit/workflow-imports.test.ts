import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ts from 'typescript';

// Workflow code must stay deterministic: no Node built-ins, no I/O libraries,
// activities imported as types only, no clocks or timers of its own. Checked
// on the TypeScript syntax tree (so multi-line imports count too), with file
// and line; the bundler would catch only some of it, and only at worker start.
const WORKFLOWS = path.resolve(__dirname, '../../../workflows');
const ALLOWED_VALUE_IMPORTS = [
  /^@temporalio\/(workflow|common)$/,
  /^\.\/[a-z-]+$/,
  /^\.\.\/common\/(temporal\/(operations|search-attributes|defaults)|failure-types|host-port|production-remote|tls\/plan|backup\/plan|bitcoin\/stacks)$/,
];
const FORBIDDEN_CALLS = new Set(['Date.now', 'setTimeout', 'setInterval', 'Math.random', 'require']);

function problemsIn(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const where = (n: ts.Node) =>
    `workflows/${path.basename(file)}:${src.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  const problems: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const spec = n.moduleSpecifier.text;
      const clause = n.importClause;
      const typeOnly =
        clause?.isTypeOnly ||
        (clause &&
          !clause.name &&
          clause.namedBindings &&
          ts.isNamedImports(clause.namedBindings) &&
          clause.namedBindings.elements.length > 0 &&
          clause.namedBindings.elements.every((e) => e.isTypeOnly));
      if (!typeOnly && !ALLOWED_VALUE_IMPORTS.some((re) => re.test(spec)))
        problems.push(`${where(n)}: imports '${spec}' as a value`);
    }
    if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier) && !n.isTypeOnly) {
      const spec = n.moduleSpecifier.text;
      if (!ALLOWED_VALUE_IMPORTS.some((re) => re.test(spec))) problems.push(`${where(n)}: re-exports '${spec}'`);
    }
    if (ts.isCallExpression(n)) {
      const callee = n.expression.getText(src);
      if (FORBIDDEN_CALLS.has(callee))
        problems.push(`${where(n)}: calls ${callee} (use sleep, condition, uuid4 from @temporalio/workflow)`);
    }
    if (ts.isPropertyAccessExpression(n) && n.expression.getText(src) === 'process')
      problems.push(`${where(n)}: uses process`);
    ts.forEachChild(n, visit);
  };
  visit(src);
  return problems;
}

test('workflows import only the workflow API, pure shared modules, and activity types', () => {
  const files = fs.readdirSync(WORKFLOWS).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 0);
  assert.deepEqual(
    files.flatMap((f) => problemsIn(path.join(WORKFLOWS, f))),
    [],
  );
});

test('the check itself catches a multi-line Node import and a clock read', () => {
  const bad = path.join(fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'ssw-wf-')), 'bad.ts');
  fs.writeFileSync(
    bad,
    "import {\n  readFileSync,\n} from 'node:fs';\nimport type { X } from '../activities';\nexport const t = Date.now();\n",
  );
  assert.deepEqual(
    problemsIn(bad).map((p) => p.replace(/^workflows\/bad\.ts:/, '')),
    ["1: imports 'node:fs' as a value", '5: calls Date.now (use sleep, condition, uuid4 from @temporalio/workflow)'],
  );
});
