import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `npm ci` (what install.sh runs first) refuses a lock file that lacks any
 * optional dependency of a locked package, even one for another platform
 * (@swc/core's per-platform binaries): every install then fell back to
 * `npm install`, which may resolve other versions. The lock must be complete.
 */

function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package-lock.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`package-lock.json not found above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

interface LockEntry {
  version?: string;
  optionalDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
}

test('every dependency and optional dependency of a locked package is in the lock file', () => {
  const lock = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const missing: string[] = [];
  for (const [where, entry] of Object.entries(lock.packages)) {
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      // npm resolves a dependency in the nearest node_modules up the tree.
      const candidates: string[] = [];
      let base = where;
      for (;;) {
        candidates.push(`${base ? `${base}/` : ''}node_modules/${name}`);
        const i = base.lastIndexOf('node_modules/');
        if (i < 0) break;
        base = base.slice(0, i).replace(/\/$/, '');
      }
      if (!candidates.some((c) => c in lock.packages))
        missing.push(`${name} (needed by ${where || 'the root package'})`);
    }
  }
  assert.deepEqual(missing, [], 'regenerate the lock file with npm install --package-lock-only');
});
