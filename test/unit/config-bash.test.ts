import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scanConfText } from '../../common/config/parse';
import { tempSsRoot } from '../helpers/temporal';

// ssw reads Sovereign Stack's files as bash does (ss sources them): every value
// in the corpus is compared with what a real bash makes of the same file.
function corpusDir(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'test', 'fixtures', 'config', 'bash'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('test/fixtures/config/bash not found');
    dir = up;
  }
  return path.join(dir, 'test', 'fixtures', 'config', 'bash');
}

/** KEY -> value for `keys`, as bash assigns them when it sources `file` (empty environment, HOME set). */
function bashValues(file: string, keys: string[]): Record<string, string | undefined> {
  const script =
    'set -a; source "$1" >/dev/null 2>&1; shift; for k in "$@"; do if [ -n "${!k+set}" ]; then printf "%s=%s\\0" "$k" "${!k}"; fi; done';
  const out = execFileSync(
    'env',
    [
      '-i',
      'HOME=/home/ssw-test',
      'PATH=/usr/bin:/bin',
      'bash',
      '--norc',
      '--noprofile',
      '-c',
      script,
      'bash',
      file,
      ...keys,
    ],
    { encoding: 'utf8' },
  );
  const values: Record<string, string> = {};
  for (const entry of out.split('\0').filter(Boolean)) {
    const eq = entry.indexOf('=');
    values[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return values;
}

const keysOf = (text: string) => [...text.matchAll(/^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]!);

describe('config values are read as bash reads them', () => {
  const file = path.join(corpusDir(), 'read-as-bash.conf');
  const text = fs.readFileSync(file, 'utf8');
  const keys = [...new Set(keysOf(text))];
  const bash = bashValues(file, keys);
  const ssw = scanConfText(text, file);

  test('the corpus reads without a problem', () => {
    assert.deepEqual(ssw.problems, []);
    assert.deepEqual(ssw.expansions, []);
    assert.ok(keys.length >= 30, `${keys.length} cases`);
  });

  for (const key of keys) {
    test(`${key}: the same value as bash`, () => {
      assert.notEqual(bash[key], undefined, `bash did not assign ${key}`);
      assert.equal(ssw.values[key], bash[key]);
    });
  }

  test('the cases of issue 13 item 14 in particular', () => {
    assert.equal(ssw.values.DQ_ESC_QUOTE, 'a"b');
    assert.equal(ssw.values.DQ_ESC_BACKSLASH, 'a\\b');
    assert.equal(ssw.values.DQ_ESC_DOLLAR, 'a$b');
    assert.equal(ssw.values.UNQ_HASH, 'pass#word');
  });
});

describe('values bash would expand are refused, naming the line and what bash would make of them', () => {
  const file = path.join(corpusDir(), 'refused.conf');
  const text = fs.readFileSync(file, 'utf8');
  const keys = keysOf(text).filter((k) => k !== 'EARLIER');
  const bash = bashValues(file, keys);
  const ssw = scanConfText(text, file);
  const lineOf = (key: string) => text.split('\n').findIndex((l) => l.startsWith(`${key}=`)) + 1;

  for (const key of keys) {
    test(`${key}: refused on its line; bash indeed reads something else than the text`, () => {
      const p = ssw.expansions.find((e) => e.key === key);
      assert.ok(p, `no problem for ${key}`);
      assert.equal(p.line, lineOf(key));
      assert.match(p.message, new RegExp(`^line ${lineOf(key)}: bash, which ss reads this file with, would replace `));
      assert.match(p.message, /put the value in single quotes \('\.\.\.'\), or write each \$ as \\\$/);
      assert.equal(key in ssw.values, false, 'no value is guessed');
      const lines = text.split('\n');
      const literal = lines[lineOf(key) - 1]!.slice(key.length + 1).replace(/^"|"$/g, '');
      assert.notEqual(bash[key], literal, 'bash expanded it');
    });
  }

  test('the message says what bash would do with each part', () => {
    const msg = (key: string) => ssw.expansions.find((e) => e.key === key)!.message;
    assert.match(
      msg('WORD_VAR'),
      /would replace \$word with the value of the variable word \(empty unless it is in the environment\)/,
    );
    assert.match(
      msg('USES_EARLIER'),
      /\$EARLIER with the value of the variable EARLIER \("set-above", set above in this file\)/,
    );
    assert.match(msg('CMD'), /\$\(echo hi\) with the output of running that command/);
    assert.match(msg('TILDE'), /~ with a home directory/);
  });

  test("a secret's value is never quoted, not even the part bash would expand", () => {
    const { expansions } = scanConfText('GHOST_MYSQL_PASSWORD="hunter2$secretpart"\n', 'site.conf');
    assert.equal(expansions.length, 1);
    assert.match(
      expansions[0]!.message,
      /^line 1: bash, which ss reads this file with, would expand a \$variable in this value/,
    );
    assert.ok(!expansions[0]!.message.includes('hunter2'));
    assert.ok(!expansions[0]!.message.includes('secretpart'));
  });

  test('through the loader: file, key and line, exit-2 ConfigError; unknown keys may hold anything', async () => {
    const { loadSiteConfig } = await import('../../common/config');
    const { ConfigError } = await import('../../common/errors');
    const { SsPaths } = await import('../../common/paths');
    const root = tempSsRoot('ssw-bash-');
    const site = path.join(root, 'sites', 'example.com', 'site.conf');
    fs.mkdirSync(path.dirname(site), { recursive: true });
    fs.writeFileSync(
      site,
      [
        'DOMAIN_NAME=example.com',
        'OPERATOR_NOTE="$HOME/notes"',
        'DUPLICITY_BACKUP_PASSPHRASE=pa$word',
        'GHOST_MYSQL_PASSWORD=g1',
        'GHOST_MYSQL_ROOT_PASSWORD=g2',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    try {
      loadSiteConfig(new SsPaths(root), 'example.com');
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.exitCode, 2);
      assert.deepEqual(
        err.problems.map((p) => [p.key, p.line]),
        [['DUPLICITY_BACKUP_PASSPHRASE', 3]],
      );
      assert.match(
        err.message,
        /site\.conf: DUPLICITY_BACKUP_PASSPHRASE: line 3: bash, which ss reads this file with, would expand a \$variable/,
      );
      assert.ok(!err.message.includes('pa$word'));
    }
  });
});
