import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../client/cli';
import { bufferIO } from '../../client/io';
import { ssw } from '../helpers/cli';
import { tempSsRoot } from '../helpers/temporal';

const NO_STACK = /\n\s+at .+:\d+:\d+/;

describe('ssw CLI basics', () => {
  test('--help lists every command and the global options', () => {
    const r = ssw(['--help']);
    assert.equal(r.status, 0);
    for (const c of ['dev', 'server', 'worker', 'codec-server', 'status', 'list', 'cancel', 'key'])
      assert.match(r.stdout, new RegExp(`ssw ${c}`));
    for (const o of [
      '--ss-root',
      '--temporal-address',
      '--namespace',
      '--tls-cert',
      '--tls-key',
      '--tls-ca',
      '--json',
      '--verbose',
    ]) {
      assert.ok(r.stdout.includes(o), o);
    }
  });

  test('an unknown command is one paragraph on stderr, exit 2, no stack', async () => {
    const io = bufferIO();
    const code = await runCli(['frobnicate'], io);
    assert.equal(code, 2);
    assert.match(io.stderr, /Unknown argument: frobnicate/);
    assert.match(io.stderr, /ssw --help/);
    assert.doesNotMatch(io.stderr, NO_STACK);
  });

  test('an unknown flag is refused before anything runs', async () => {
    const io = bufferIO();
    assert.equal(await runCli(['list', '--deploymnet', 'x'], io), 2);
    assert.match(io.stderr, /Unknown argument/);
  });

  test('an unreachable Temporal names the address and how to start one', async () => {
    const io = bufferIO();
    const code = await runCli(['list', '--temporal-address', '127.0.0.1:1', '--ss-root', tempSsRoot()], io);
    assert.equal(code, 2);
    assert.match(io.stderr, /Cannot reach Temporal at 127\.0\.0\.1:1/);
    assert.match(io.stderr, /ssw server start/);
    assert.doesNotMatch(io.stderr, NO_STACK);
  });

  test('--tls-cert without --tls-key is a usage error', async () => {
    const io = bufferIO();
    assert.equal(await runCli(['list', '--tls-cert', '/x.pem', '--ss-root', tempSsRoot()], io), 2);
    assert.match(io.stderr, /--tls-cert and --tls-key go together/);
  });

  test('an unreadable TLS file names the flag and the file', async () => {
    const io = bufferIO();
    assert.equal(await runCli(['list', '--tls-ca', '/nonexistent/ca.pem', '--ss-root', tempSsRoot()], io), 2);
    assert.match(io.stderr, /--tls-ca \/nonexistent\/ca\.pem: cannot read it \(ENOENT\)/);
  });

  test('key rotate never prints key material', async () => {
    const io = bufferIO();
    const root = tempSsRoot();
    assert.equal(await runCli(['key', 'rotate', '--ss-root', root, '--json'], io), 0);
    const out = JSON.parse(io.stdout) as { keyId: string; file: string };
    assert.match(out.keyId, /^k[0-9a-f]{15}$/);
    const keyText = require('node:fs').readFileSync(out.file, 'utf8') as string;
    for (const line of keyText.split('\n').filter((l) => l && !l.startsWith('#'))) {
      assert.ok(!io.stdout.includes(line.split(' ')[1]));
    }
  });
});

test('--help loads neither the Temporal SDK nor the config schema (zod): it stays fast', () => {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const path = require('node:path') as typeof import('node:path');
  // Print, at exit, which heavy modules the process had loaded.
  const probe =
    "process.on('exit', () => { const k = Object.keys(require.cache); process.stderr.write(JSON.stringify({ zod: k.some((f) => f.includes('/node_modules/zod/')), temporal: k.some((f) => f.includes('/node_modules/@temporalio/')) })); });";
  const r = spawnSync(
    process.execPath,
    [
      '-e',
      `${probe} process.argv.splice(1, 0, 'ssw'); require(${JSON.stringify(path.resolve(__dirname, '../../client/main.js'))});`,
      '--',
      '--help',
    ],
    { encoding: 'utf8' },
  );
  assert.match(r.stdout, /ssw <command>/);
  assert.deepEqual(JSON.parse(r.stderr), { zod: false, temporal: false });
});

test('data this machine did not encrypt is reported as not from ssw, without a stack', async () => {
  const { reportError } = await import('../../client/error-handler');
  const { UnencryptedPayloadError } = await import('../../common/codec/aes-gcm-codec');
  const r = reportError(
    new UnencryptedPayloadError("its payload is not encrypted with this machine's payload key"),
    false,
  );
  assert.equal(r.exitCode, 1);
  assert.match(r.message, /did not come from ssw/);
  assert.doesNotMatch(r.message, /--verbose|\n\s+at /);
});
