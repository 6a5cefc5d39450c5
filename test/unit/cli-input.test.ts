import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writePublicFileArgv } from '../../activities/certbot/commands';
import { CaBundleInvalid, readCaBundle } from '../../common/tls/ca-bundle';
import { SSW } from '../helpers/cli';
import { tempSsRoot } from '../helpers/temporal';

// Bad input through the real CLI (issue 13, "Hardening"): exit 2, one paragraph
// naming what and where, no stack trace, nothing written, and no hang: every
// run has a bounded timeout, so a regression fails instead of blocking the suite.
const NO_STACK = /\n\s+at .+:\d+:\d+/;

function run(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [SSW, ...args], {
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
    encoding: 'utf8',
    timeout: 30_000,
    killSignal: 'SIGKILL',
  });
  assert.equal(r.error, undefined, `ssw ${args.join(' ')} did not finish: ${r.error?.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertUsageError(r: { status: number | null; stderr: string }, ...patterns: RegExp[]): void {
  assert.equal(r.status, 2, r.stderr);
  for (const p of patterns) assert.match(r.stderr, p);
  assert.doesNotMatch(r.stderr, NO_STACK);
  assert.doesNotMatch(r.stderr, /unexpected error/);
}

/** A valid $SS_ROOT (remote home, deployment intranet, one site), with extra lines per file. */
function configRoot(extra: { remote?: string[]; site?: string[] } = {}): string {
  const root = tempSsRoot('ssw-input-');
  const write = (rel: string, lines: string[]) => {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
  };
  write('remotes/home/remote.conf', ['DEPLOYMENT_STRING="(intranet|regtest)"', ...(extra.remote ?? [])]);
  write('projects/intranet/project.conf', ['PRIMARY_DOMAIN=intranet.example.net']);
  write('sites/intranet.example.net/site.conf', [
    'DOMAIN_NAME=intranet.example.net',
    'DUPLICITY_BACKUP_PASSPHRASE=minimal-passphrase',
    'GHOST_MYSQL_PASSWORD=minimal-ghost',
    'GHOST_MYSQL_ROOT_PASSWORD=minimal-ghost-root',
    ...(extra.site ?? []),
  ]);
  return root;
}

const configCheck = (root: string) => run(['config', 'check', '--remote', 'home', '--deployment', 'intranet', '--ss-root', root]);

/** A self-signed CA certificate made by openssl now. */
function makeCaCert(dir: string): string {
  const cert = path.join(dir, 'ca.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(dir, 'ca.key'), '-out', cert, '-days', '2', '-subj', '/CN=ssw test CA'], { stdio: 'ignore' });
  return cert;
}

describe('ACME_CA_BUNDLE is checked before anything starts', () => {
  test('a regular file of PEM certificates passes, and only its certificates are read', () => {
    const dir = tempSsRoot('ssw-ca-');
    const cert = makeCaCert(dir);
    const bundle = path.join(dir, 'bundle.pem');
    fs.writeFileSync(bundle, `# Issuer: ssw test CA\n${fs.readFileSync(cert, 'utf8')}\nsome operator note\n`);
    assert.equal(readCaBundle(bundle), fs.readFileSync(cert, 'utf8'));
    const root = configRoot({ remote: [`ACME_CA_BUNDLE=${bundle}`] });
    const r = configCheck(root);
    assert.equal(r.status, 0, r.stderr);
  });

  const cases: Array<[string, (dir: string, root: string) => string, RegExp]> = [
    ['a missing path', (dir) => path.join(dir, 'missing.pem'), /missing\.pem: no such file on this machine/],
    ['/dev/zero', () => '/dev/zero', /\/dev\/zero: expected a regular file of PEM certificates, but it is a character device/],
    ['a directory', (dir) => dir, /expected a regular file of PEM certificates, but it is a directory/],
    ['a FIFO', (dir) => {
      const fifo = path.join(dir, 'fifo.pem');
      execFileSync('mkfifo', [fifo]);
      return fifo;
    }, /but it is a FIFO/],
    ['a file larger than 1 MiB', (dir) => {
      const big = path.join(dir, 'big.pem');
      fs.writeFileSync(big, Buffer.alloc(2 * 1024 * 1024, 'A'));
      return big;
    }, /but it is 2\.0 MiB, more than the 1\.0 MiB accepted/],
    ['the payload key', (_dir, root) => {
      assert.equal(run(['key', 'rotate', '--ss-root', root]).status, 0);
      return path.join(root, 'keys', 'payload.key');
    }, /expected PEM certificates \("-----BEGIN CERTIFICATE-----"\), but it holds none/],
    ['a private key', (dir) => {
      makeCaCert(dir);
      return path.join(dir, 'ca.key');
    }, /expected only PEM certificates, but it holds PRIVATE KEY; name the CA's certificate file instead/],
  ];
  for (const [what, make, message] of cases) {
    test(`${what} is a config error naming the file and the key, exit 2`, () => {
      const dir = tempSsRoot('ssw-ca-');
      const root = configRoot();
      const file = make(dir, root);
      fs.appendFileSync(path.join(root, 'remotes/home/remote.conf'), `ACME_CA_BUNDLE=${file}\n`);
      const r = configCheck(root);
      assertUsageError(r, /remote\.conf: ACME_CA_BUNDLE: /, message);
      if (what === 'the payload key') {
        const key = fs.readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('k'))!.split(' ')[1]!;
        assert.ok(!r.stderr.includes(key), 'no key material in the message');
      }
    });
  }

  test('readCaBundle refuses a key file with CaBundleInvalid', () => {
    const dir = tempSsRoot('ssw-ca-');
    makeCaCert(dir);
    assert.throws(() => readCaBundle(path.join(dir, 'ca.key')), CaBundleInvalid);
  });

  test('the copy on the host is written 0644 whatever the umask', () => {
    const dir = tempSsRoot('ssw-ca-');
    const target = path.join(dir, 'letsencrypt', '_acme-ca.pem');
    const argv = writePublicFileArgv(path.dirname(target), target);
    // The same command the activity runs over SSH, here through a real sh with a strict umask.
    execFileSync('sh', ['-c', 'umask 077; exec "$@"', 'sh', ...argv], { input: 'pem\n' });
    assert.equal(fs.readFileSync(target, 'utf8'), 'pem\n');
    assert.equal(fs.statSync(target).mode & 0o777, 0o644);
  });
});
