import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ts from 'typescript';

// The layering (ARCHITECTURE.md): client → workflows (types only) → activities
// (types only) → common; workers wire activities. Checked on the TypeScript
// syntax tree of every file of every layer: static imports and re-exports,
// dynamic import(), require() and `typeof import()` types, with file and line.
// workflow-imports.test.ts narrows further what workflows may import as values.
const ROOT = path.resolve(__dirname, '../../..');
const LAYERS = ['client', 'workers', 'workflows', 'activities', 'common'] as const;
type Layer = (typeof LAYERS)[number];

/** What each layer may import from each other layer: values, types only, or nothing (absent). */
const ALLOWED: Record<Layer, Partial<Record<Layer, 'values' | 'types'>>> = {
  // The CLI asks workflows (their input and result types) and hosts the worker (`ssw worker`, `ssw dev`).
  client: { client: 'values', common: 'values', workflows: 'types', workers: 'values' },
  // The worker wires the real activities and bundles the workflows.
  workers: { workers: 'values', common: 'values', activities: 'values', workflows: 'types' },
  workflows: { workflows: 'values', common: 'values', activities: 'types' },
  activities: { activities: 'values', common: 'values' },
  common: { common: 'values' },
};

function layerOf(root: string, file: string): Layer | undefined {
  const first = path.relative(root, file).split(path.sep)[0];
  return (LAYERS as readonly string[]).includes(first ?? '') ? (first as Layer) : undefined;
}

function tsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
}

/** Every import of `file` that crosses layers the wrong way, as "path:line: ...". */
function layerProblems(root: string, file: string): string[] {
  const from = layerOf(root, file);
  if (!from) return [];
  const src = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const problems: string[] = [];
  const check = (n: ts.Node, spec: string, typeOnly: boolean, how: string) => {
    if (!spec.startsWith('.')) return; // packages and Node built-ins: workflow-imports.test.ts polices those
    const to = layerOf(root, path.resolve(path.dirname(file), spec));
    if (!to) return;
    const allowed = ALLOWED[from][to];
    if (allowed === 'values' || (allowed === 'types' && typeOnly)) return;
    const line = src.getLineAndCharacterOfPosition(n.getStart()).line + 1;
    const what =
      allowed === 'types'
        ? `${how} '${spec}' as a value (${from} may import ${to} types only)`
        : `${how} '${spec}' (${from} may not import ${to})`;
    problems.push(`${path.relative(root, file)}:${line}: ${what}`);
  };
  const visit = (n: ts.Node): void => {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) {
      const c = n.importClause;
      const typeOnly = Boolean(
        c?.isTypeOnly ||
        (c &&
          !c.name &&
          c.namedBindings &&
          ts.isNamedImports(c.namedBindings) &&
          c.namedBindings.elements.length > 0 &&
          c.namedBindings.elements.every((e) => e.isTypeOnly)),
      );
      check(n, n.moduleSpecifier.text, typeOnly, 'imports');
    } else if (ts.isExportDeclaration(n) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) {
      const typeOnly =
        n.isTypeOnly ||
        Boolean(
          n.exportClause &&
          ts.isNamedExports(n.exportClause) &&
          n.exportClause.elements.length > 0 &&
          n.exportClause.elements.every((e) => e.isTypeOnly),
        );
      check(n, n.moduleSpecifier.text, typeOnly, 're-exports');
    } else if (
      ts.isImportEqualsDeclaration(n) &&
      ts.isExternalModuleReference(n.moduleReference) &&
      ts.isStringLiteral(n.moduleReference.expression)
    ) {
      check(n, n.moduleReference.expression.text, n.isTypeOnly, 'imports');
    } else if (ts.isCallExpression(n) && n.arguments.length > 0 && ts.isStringLiteralLike(n.arguments[0]!)) {
      const spec = (n.arguments[0] as ts.StringLiteralLike).text;
      if (n.expression.kind === ts.SyntaxKind.ImportKeyword) check(n, spec, false, 'import()s');
      else if (ts.isIdentifier(n.expression) && n.expression.text === 'require') check(n, spec, false, 'requires');
    } else if (ts.isImportTypeNode(n) && ts.isLiteralTypeNode(n.argument) && ts.isStringLiteral(n.argument.literal)) {
      check(n, n.argument.literal.text, true, 'imports the type of');
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return problems;
}

function treeProblems(root: string): string[] {
  return LAYERS.flatMap((l) => tsFiles(path.join(root, l))).flatMap((f) => layerProblems(root, f));
}

test('every layer imports only the layers the layering allows (some as types only)', () => {
  const files = LAYERS.flatMap((l) => tsFiles(path.join(ROOT, l)));
  assert.ok(files.length > 100, `found only ${files.length} files under ${ROOT}`);
  assert.deepEqual(treeProblems(ROOT), []);
});

test('the check itself catches planted bad imports in a copy of the tree', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-layers-'));
  const plant = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  };
  try {
    plant(
      'common/bad.ts',
      "import type { SshTarget } from '../activities/ssh';\nexport { x } from '../workflows/y';\n",
    );
    plant(
      'client/commands/bad.ts',
      [
        "import type { ShowDeploymentResult } from '../../workflows/show-deployment';",
        "import { showDeployment } from '../../workflows/show-deployment';",
        'export async function f() {',
        "  const { LxdClient } = await import('../../activities/lxd/client');",
        "  const ssh = require('../../activities/ssh');",
        "  type T = typeof import('../../activities/ssh');",
        '}',
        '',
      ].join('\n'),
    );
    plant(
      'workflows/bad.ts',
      "import {\n  createActivities,\n} from '../activities';\nimport type { SswActivities } from '../activities';\n",
    );
    plant(
      'activities/bad.ts',
      "import { run } from '../client/run-operation';\nimport { ok } from '../common/hosts';\n",
    );
    assert.deepEqual(treeProblems(root).sort(), [
      "activities/bad.ts:1: imports '../client/run-operation' (activities may not import client)",
      "client/commands/bad.ts:2: imports '../../workflows/show-deployment' as a value " +
        '(client may import workflows types only)',
      "client/commands/bad.ts:4: import()s '../../activities/lxd/client' (client may not import activities)",
      "client/commands/bad.ts:5: requires '../../activities/ssh' (client may not import activities)",
      "client/commands/bad.ts:6: imports the type of '../../activities/ssh' (client may not import activities)",
      "common/bad.ts:1: imports '../activities/ssh' (common may not import activities)",
      "common/bad.ts:2: re-exports '../workflows/y' (common may not import workflows)",
      "workflows/bad.ts:1: imports '../activities' as a value (workflows may import activities types only)",
    ]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
