import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { argvToCommand, shellQuote } from '../../common/shell-quote';

describe('shellQuote', () => {
  const cases: Array<[string, string]> = [
    ['plain', 'plain'],
    ['/var/lib/ss-data/file.tar.gz', '/var/lib/ss-data/file.tar.gz'],
    ['key=value,a:b@c%d+e', 'key=value,a:b@c%d+e'],
    ['--flag', '--flag'],
    ['-', '-'],
    ['', "''"],
    ['two words', "'two words'"],
    ["it's", `'it'\\''s'`],
    ["'", `''\\'''`],
    ['"double"', `'"double"'`],
    ['$(rm -rf /)', "'$(rm -rf /)'"],
    ['`id`', "'`id`'"],
    ['$HOME', "'$HOME'"],
    ['a;b', "'a;b'"],
    ['a|b&c>d<e', "'a|b&c>d<e'"],
    ['*', "'*'"],
    ['~', "'~'"],
    ['line1\nline2', "'line1\nline2'"],
    ['tab\there', "'tab\there'"],
    ['back\\slash', "'back\\slash'"],
    ['héllo ₿', "'héllo ₿'"],
    ['!', "'!'"],
  ];
  for (const [arg, expected] of cases) {
    test(`quotes ${JSON.stringify(arg)} as ${expected}`, () => {
      assert.equal(shellQuote(arg), expected);
    });
  }

  test('rejects a NUL byte', () => {
    assert.throws(() => shellQuote('a\0b'), /NUL byte/);
  });
});

describe('argvToCommand', () => {
  test('joins quoted arguments with single spaces', () => {
    assert.equal(argvToCommand(['ls', '-la', '/tmp/a b']), "ls -la '/tmp/a b'");
  });

  test('builds the exact command for a tricky argv', () => {
    assert.equal(
      argvToCommand(['printf', '%s\\n', '', "it's", '$(id)', '`id`', 'a\nb', '-n', 'ünï']),
      "printf '%s\\n' '' 'it'\\''s' '$(id)' '`id`' 'a\nb' -n 'ünï'",
    );
  });

  test('quotes a command name that sh would read as an assignment or a reserved word', () => {
    assert.equal(argvToCommand(['A=b', 'c']), "'A=b' c");
    assert.equal(argvToCommand(['if', 'x']), "'if' x");
    assert.equal(argvToCommand(['time', 'x']), "'time' x");
    // Later arguments are not in command position and stay as they are.
    assert.equal(argvToCommand(['env', 'A=b', 'if']), 'env A=b if');
  });

  test('rejects an empty argv', () => {
    assert.throws(() => argvToCommand([]), /at least the command name/);
  });

  test('rejects a NUL byte anywhere', () => {
    assert.throws(() => argvToCommand(['echo', 'ok', 'bad\0']), /NUL byte/);
  });
});

// sshd hands the string to the user's login shell: dash (/bin/sh on Debian) or bash.
for (const shell of ['/bin/sh', '/bin/bash'])
  describe(`argvToCommand through a real ${shell}`, () => {
    // Each argument printed on its own, NUL-terminated, so newlines inside arguments are visible.
    const tricky = [
      'plain',
      'two words',
      '',
      "it's",
      "''",
      '"double"',
      '$(echo INJECTED)',
      '`echo INJECTED`',
      '$HOME',
      '${PATH}',
      'a;echo INJECTED',
      'a && echo INJECTED',
      '*',
      '~',
      '~root',
      'line1\nline2',
      '\ttab',
      'trailing\\',
      '\\',
      '-n',
      '--',
      '-e',
      'héllo ₿ 日本',
      '!',
      '#not a comment',
      'x=y',
      '{a,b}',
      '[abc]',
      '%s',
    ];

    test('every argument survives exactly', () => {
      const command = argvToCommand(['printf', '%s\\0', ...tricky]);
      const r = spawnSync(shell, ['-c', command], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout.split('\0').slice(0, -1), tricky);
    });

    test('a reserved word and an assignment in command position run as commands', () => {
      const r = spawnSync(shell, ['-c', `${argvToCommand(['if'])}; ${argvToCommand(['A=b'])}`], { encoding: 'utf8' });
      // Both are looked up as programs (and not found), instead of being parsed as syntax.
      assert.equal(r.status, 127);
      assert.match(r.stderr, /if: not found|if: command not found/);
      assert.match(r.stderr, /A=b: not found|A=b: command not found/);
    });
  });
