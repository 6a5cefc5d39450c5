import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { commands, runCli } from '../../client/cli';
import type { Around } from '../../client/define-command';
import { bufferIO } from '../../client/io';
import { tempSsRoot } from '../helpers/temporal';

// Every command group is yargs subcommands of its own: each subcommand's
// --help shows its options and no other's, and --help never runs a handler.

const SSH = ['ssh-port', 'ssh-user', 'ssh-key', 'ssh-agent', 'pin-host-key'];
const TARGET = ['deployment', 'remote', 'host', 'domain', 'data-path', 'backup-path', ...SSH];
const RENEW = ['staging', 'http-port', 'https-port'];

/** The command's own options (the "Options:" section, without --help and --version), per command line. */
const OWN_OPTIONS: Record<string, string[]> = {
  'cert renew': [...TARGET, 'detach', ...RENEW, 'force'],
  'cert status': [...TARGET, 'detach'],
  'cert restore': [...TARGET, 'detach', 'force'],
  'schedule install': [...TARGET, ...RENEW, 'at', 'backup-at', 'jitter', 'timezone'],
  'schedule list': [],
  'schedule pause': TARGET,
  'schedule unpause': TARGET,
  'schedule trigger': [...TARGET, 'detach'],
  'schedule delete': TARGET,
  'config check': ['remote', 'deployment', 'site'],
  'btcpay status': ['deployment', 'remote'],
  'host check': SSH,
  'key rotate': [],
  'server start': ['temporal-bin', 'port', 'ui-port', 'codec-endpoint', 'headless'],
  backup: [...TARGET, 'app', 'detach'],
  'backup verify': [...TARGET, 'app', 'detach'],
  'backup list': ['domain', 'app'],
  'remote add': [
    ...['ssh-user', 'ssh-port', 'ssh-key', 'ssh-agent', 'pin-host-key'],
    ...['disk', 'data-plane-interface', 'backend', 'api-port', 'print-preseed'],
  ],
  'remote list': [],
  'remote show': [],
  'remote switch': [],
  'remote remove': ['force', 'deprovision', 'yes'],
};

/** Runs ssw in-process with every handler replaced by a recorder. */
async function cli(argv: string[]) {
  const io = bufferIO();
  const reached: string[] = [];
  const around: Around = async (command) => {
    reached.push(command);
  };
  const code = await runCli(argv, io, around);
  return { code, stdout: io.stdout, stderr: io.stderr, reached };
}

/** The flags listed under one heading of a help text. */
function flagsUnder(help: string, heading: string): string[] {
  const section = help.split(/\n\n/).find((s) => s.startsWith(`${heading}\n`)) ?? '';
  return [...section.matchAll(/^ {2}--([a-z][a-z0-9-]*)/gm)]
    .map((m) => m[1]!)
    .filter((f) => f !== 'help' && f !== 'version');
}

const groups = commands(bufferIO()).filter((c) => c.subcommands.length > 0);

test('the groups are the ones the README documents, each with its subcommands', () => {
  assert.deepEqual(Object.fromEntries(groups.map((g) => [g.name, g.subcommands.map((s) => s.name)])), {
    server: ['start'],
    host: ['check'],
    remote: ['add', 'list', 'show', 'switch', 'remove'],
    cert: ['renew', 'status', 'restore'],
    backup: ['verify', 'list'],
    btcpay: ['status'],
    schedule: ['install', 'list', 'pause', 'unpause', 'trigger', 'delete'],
    config: ['check'],
    key: ['rotate'],
  });
  const listed = groups.flatMap((g) => g.subcommands.map((s) => `${g.name} ${s.name}`));
  assert.deepEqual([...listed, 'backup'].sort(), Object.keys(OWN_OPTIONS).sort(), 'each has its options below');
});

for (const group of groups) {
  describe(`ssw ${group.name}`, () => {
    test('--help lists its subcommands and runs nothing', async () => {
      const r = await cli([group.name, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.startsWith(`ssw ${group.name}\n`), r.stdout);
      for (const s of group.subcommands) assert.match(r.stdout, new RegExp(`^ {2}ssw ${group.name} ${s.name}\\b`, 'm'));
      assert.deepEqual(r.reached, []);
    });

    for (const sub of group.subcommands) {
      test(`${sub.name} --help lists its own options only, and no handler runs`, async () => {
        const line = `${group.name} ${sub.name}`;
        const r = await cli([group.name, sub.name, '--help', '--ss-root', tempSsRoot('ssw-help-')]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '');
        assert.ok(r.stdout.startsWith(`ssw ${line}`), r.stdout);
        assert.deepEqual(flagsUnder(r.stdout, 'Options:'), OWN_OPTIONS[line]);
        assert.ok(flagsUnder(r.stdout, 'Global options:').includes('ss-root'), 'the global options are there too');
        assert.deepEqual(r.reached, []);
      });
    }

    test('naming no subcommand, or an unknown one, is a usage error that names them', async () => {
      const names = group.subcommands.map((s) => s.name);
      const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names[0];
      if (group.name !== 'backup') {
        const none = await cli([group.name]);
        assert.equal(none.code, 2);
        const them = names.length > 1 ? 'them' : 'it';
        const help = `"ssw ${group.name} --help" describes ${them}.`;
        assert.equal(none.stderr, `Name a ${group.name} command: ${list}. ${help}\n`);
        assert.deepEqual(none.reached, []);
      }
      const typo = await cli([group.name, 'frobnicate', '--deployment', 'x']);
      assert.equal(typo.code, 2);
      assert.match(typo.stderr, new RegExp(`^Unknown ${group.name} command "frobnicate": use ${list}\\b`));
      assert.equal(typo.stderr.split('\n').length, 2, 'one paragraph');
      assert.deepEqual(typo.reached, []);
    });
  });
}

test('backup alone backs up: its --help lists its own options, and "backup list" does not take them', async () => {
  const help = await cli(['backup', '--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.deepEqual(flagsUnder(help.stdout, 'Options:'), OWN_OPTIONS.backup);
  assert.deepEqual(help.reached, []);
  assert.deepEqual((await cli(['backup', '--deployment', 'public'])).reached, ['backup']);
  const list = await cli(['backup', 'list', '--deployment', 'public']);
  assert.equal(list.code, 2);
  assert.match(list.stderr, /Unknown argument: deployment/);
  assert.deepEqual(list.reached, []);
});

test('a subcommand line reaches its own handler (the recorder sees it), and only that one', async () => {
  const root = tempSsRoot('ssw-help-');
  const r = await cli(['key', 'rotate', '--ss-root', root]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.reached, ['key rotate']);
  assert.deepEqual(fs.readdirSync(root), [], 'the recorder ran instead of the handler');
  assert.deepEqual((await cli(['schedule', 'pause', 'cert-renew/home/public'])).reached, ['schedule pause']);
  assert.deepEqual((await cli(['remote', 'show', 'home'])).reached, ['remote show']);
  assert.deepEqual((await cli(['list'])).reached, ['list']);
});

test("a subcommand refuses another subcommand's flag", async () => {
  for (const argv of [
    ['cert', 'status', '--deployment', 'public', '--force'],
    ['schedule', 'pause', '--deployment', 'public', '--at', '03:00'],
    ['schedule', 'list', '--deployment', 'public'],
  ]) {
    const r = await cli(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.stderr, /^Unknown argument: (force|at|deployment) Run "ssw --help" for usage\.\n$/);
    assert.deepEqual(r.reached, []);
  }
});
