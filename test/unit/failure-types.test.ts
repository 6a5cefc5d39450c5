import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ts from 'typescript';
import { FailureType, NON_RETRYABLE_FAILURE_TYPES } from '../../common/failure-types';

// Every ApplicationFailure type ssw raises is in the one catalog (common/failure-types.ts), so
// retry policies and the CLI's error handler know every name: checked on the syntax tree of the
// whole product tree. A type given as a string literal must be a catalog value, and so must any
// 'Ssw…' string (a comparison with err.type, a retry policy's list).
const ROOT = path.resolve(__dirname, '../../..');
const LAYERS = ['activities', 'common', 'workflows', 'workers', 'client'];
const CATALOG = new Set<string>(Object.values(FailureType));
const FACTORIES = new Set(['create', 'nonRetryable', 'retryable'].map((f) => `ApplicationFailure.${f}`));

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** The failure type given to an ApplicationFailure factory call or constructor, when there is one. */
function typeArgument(call: ts.CallExpression | ts.NewExpression, callee: string): ts.Expression | undefined {
  const args = call.arguments ?? ts.factory.createNodeArray();
  if (callee !== 'ApplicationFailure.create') return args[1];
  const opts = args[0];
  if (!opts || !ts.isObjectLiteralExpression(opts)) return undefined;
  const prop = opts.properties.find((p) => p.name && ts.isIdentifier(p.name) && p.name.text === 'type');
  return prop && ts.isPropertyAssignment(prop) ? prop.initializer : undefined;
}

function problemsIn(file: string): string[] {
  const src = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const line = (n: ts.Node) => src.getLineAndCharacterOfPosition(n.getStart()).line + 1;
  const where = (n: ts.Node) => `${path.relative(ROOT, file)}:${line(n)}`;
  const problems: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n) || ts.isNewExpression(n)) {
      const callee = n.expression.getText(src);
      if (FACTORIES.has(callee) || (ts.isNewExpression(n) && callee === 'ApplicationFailure')) {
        const t = typeArgument(n, ts.isNewExpression(n) ? 'new' : callee);
        if (t && (ts.isStringLiteral(t) || ts.isNoSubstitutionTemplateLiteral(t)) && !CATALOG.has(t.text)) {
          problems.push(`${where(t)}: raises type '${t.text}', which common/failure-types.ts does not list`);
        }
      }
    }
    const literal = ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n);
    if (literal && /^Ssw[A-Z]\w*$/.test(n.text) && !CATALOG.has(n.text)) {
      problems.push(`${where(n)}: names failure type '${n.text}', which common/failure-types.ts does not list`);
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return [...new Set(problems)];
}

test('every failure type raised or named anywhere in the tree is in the catalog', () => {
  const files = LAYERS.flatMap((l) => sourceFiles(path.join(ROOT, l)));
  assert.ok(files.length > 50);
  assert.deepEqual(files.flatMap(problemsIn), []);
});

test('the catalog names each type once, and lists only its own types as non-retryable', () => {
  assert.equal(CATALOG.size, Object.keys(FailureType).length);
  for (const t of NON_RETRYABLE_FAILURE_TYPES) assert.ok(CATALOG.has(t), t);
});

test('the check itself catches a type outside the catalog, raised or compared', () => {
  const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-ft-')), 'bad.ts');
  fs.writeFileSync(
    bad,
    [
      "throw ApplicationFailure.create({ message: 'x', type: 'NotListed' });",
      "throw ApplicationFailure.nonRetryable('x', 'AlsoNotListed');",
      "if (err.type === 'SswMadeUp') throw ApplicationFailure.create({ message: 'x', type: FailureType.Config });",
      "throw ApplicationFailure.nonRetryable('x', 'SswConfigError');",
    ].join('\n'),
  );
  assert.deepEqual(
    problemsIn(bad).map((p) => p.replace(/^.*bad\.ts:/, '')),
    [
      "1: raises type 'NotListed', which common/failure-types.ts does not list",
      "2: raises type 'AlsoNotListed', which common/failure-types.ts does not list",
      "3: names failure type 'SswMadeUp', which common/failure-types.ts does not list",
    ],
  );
});
