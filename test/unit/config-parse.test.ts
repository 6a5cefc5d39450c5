import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfFile } from '../../common/config';

function fixture(rel: string): string {
  // Compiled tests run from dist/test/unit; sources live in test/. Walk up to the repository.
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'test', 'fixtures', 'config'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('test/fixtures/config not found');
    dir = up;
  }
  return fs.readFileSync(path.join(dir, 'test', 'fixtures', 'config', rel), 'utf8');
}

describe('parseConfFile', () => {
  const expected = {
    EXPORTED: 'exported-value',
    DOUBLE: 'double quoted # not a comment',
    SINGLE: 'single quoted $(not evaluated)',
    UNQUOTED: 'plain',
    EMPTY: '',
    EMPTY_QUOTED: '',
    MULTI: 'first line\nsecond line',
    AFTER_MULTI: 'after',
  };

  test('reads comments, export, single and double quotes, trailing comments and multi-line values', () => {
    const { values, problems } = parseConfFile(fixture('valid/files/syntax.conf'), 'syntax.conf');
    assert.deepEqual(problems, []);
    assert.deepEqual(values, expected);
  });

  test('reads a file with CRLF line endings the same way', () => {
    const crlf = fixture('valid/files/syntax.conf').replace(/\n/g, '\r\n');
    assert.ok(crlf.includes('\r\n'));
    const { values, problems } = parseConfFile(crlf, 'syntax.conf');
    assert.deepEqual(problems, []);
    assert.deepEqual(values, expected);
  });

  test('ignores a UTF-8 byte order mark', () => {
    const { values, problems } = parseConfFile('\uFEFFPRIMARY_DOMAIN=example.com\n', 'p.conf');
    assert.deepEqual(problems, []);
    assert.deepEqual(values, { PRIMARY_DOMAIN: 'example.com' });
  });

  test('never evaluates shell syntax: what bash would expand has no value, and a problem on its line', () => {
    const { values, problems } = parseConfFile('A="$(touch /tmp/ssw-pwned)"\nB=${HOME}\n', 'x.conf');
    assert.equal('A' in values, false);
    assert.equal('B' in values, false);
    assert.deepEqual(
      problems.map((p) => [p.key, p.line]),
      [
        ['A', 1],
        ['B', 2],
      ],
    );
    assert.equal(fs.existsSync('/tmp/ssw-pwned'), false);
  });

  test('reports each line that is not blank, a comment or KEY=value, with its line number', () => {
    const text = ['A=1', 'rm -rf /', '', 'B = 2', 'C: 3', '  # fine', '[section]', 'D=4'].join('\n');
    const { values, problems } = parseConfFile(text, 'g.conf');
    // dotenv alone would also read `B = 2` and `C: 3`; bash assigns neither.
    assert.deepEqual(values, { A: '1', D: '4' });
    assert.deepEqual(
      problems.map((p) => [p.file, p.key, p.line]),
      [
        ['g.conf', undefined, 2],
        ['g.conf', undefined, 4],
        ['g.conf', undefined, 5],
        ['g.conf', undefined, 7],
      ],
    );
    for (const p of problems) assert.match(p.message, /expected a blank line, a # comment or KEY=value/);
  });

  test('does not quote the offending line back, since it may hold a secret', () => {
    const { problems } = parseConfFile('GHOST_MYSQL_PASSWORD : hunter2-secret\n', 'site.conf');
    assert.equal(problems.length, 1);
    assert.ok(!problems[0].message.includes('hunter2-secret'));
  });

  test('reads "#" inside a word and quoted parts joined to text as bash does; a blank ending a value is a problem', () => {
    const text = 'A=two words\nB=pass#word\nC="quoted"tail\nD=ok # comment\nE="x" y\n';
    const { values, problems } = parseConfFile(text, 'q.conf');
    assert.equal(values.B, 'pass#word');
    assert.equal(values.C, 'quotedtail');
    assert.equal(values.D, 'ok');
    assert.deepEqual(
      problems.map((p) => [p.key, p.line, p.message]),
      [
        [
          'A',
          1,
          'an unquoted value contains a blank (bash would end the value there and run the rest as a command); put the value in double quotes',
        ],
        [
          'E',
          5,
          'unexpected text after the closing quote (bash would run it as a command); put the whole value in quotes',
        ],
      ],
    );
  });

  test('reports a quote that is never closed on the line that opened it', () => {
    const { values, problems } = parseConfFile('A=1\nB="open\nC=3\n', 'u.conf');
    assert.equal('C' in values, false, 'C=3 is inside the open quote');
    assert.deepEqual(problems, [
      { file: 'u.conf', key: 'B', line: 2, message: 'the " quote opened here is never closed' },
    ]);
  });

  test('handles an escaped double quote inside a double-quoted value', () => {
    const { problems } = parseConfFile('A="say \\"hi\\""\nB=2\n', 'e.conf');
    assert.deepEqual(problems, []);
  });
});
