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

const configCheck = (root: string) =>
  run(['config', 'check', '--remote', 'home', '--deployment', 'intranet', '--ss-root', root]);

/** A self-signed CA certificate made by openssl now. */
function makeCaCert(dir: string): string {
  const cert = path.join(dir, 'ca.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      path.join(dir, 'ca.key'),
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=ssw test CA',
    ],
    { stdio: 'ignore' },
  );
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
    [
      '/dev/zero',
      () => '/dev/zero',
      /\/dev\/zero: expected a regular file of PEM certificates, but it is a character device/,
    ],
    ['a directory', (dir) => dir, /expected a regular file of PEM certificates, but it is a directory/],
    [
      'a FIFO',
      (dir) => {
        const fifo = path.join(dir, 'fifo.pem');
        execFileSync('mkfifo', [fifo]);
        return fifo;
      },
      /but it is a FIFO/,
    ],
    [
      'a file larger than 1 MiB',
      (dir) => {
        const big = path.join(dir, 'big.pem');
        fs.writeFileSync(big, Buffer.alloc(2 * 1024 * 1024, 'A'));
        return big;
      },
      /but it is 2\.0 MiB, more than the 1\.0 MiB accepted/,
    ],
    [
      'the payload key',
      (_dir, root) => {
        assert.equal(run(['key', 'rotate', '--ss-root', root]).status, 0);
        return path.join(root, 'keys', 'payload.key');
      },
      /expected PEM certificates \("-----BEGIN CERTIFICATE-----"\), but it holds none/,
    ],
    [
      'a private key',
      (dir) => {
        makeCaCert(dir);
        return path.join(dir, 'ca.key');
      },
      /expected only PEM certificates, but it holds PRIVATE KEY; name the CA's certificate file instead/,
    ],
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
        const key = fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .find((l) => l.startsWith('k'))!
          .split(' ')[1]!;
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

describe('ssw backup list reads only $SS_ROOT/sites, and only directories there', () => {
  /** A site with one full backup of ghost copied here, plus a drill record. */
  function backupTree(root: string, siteDir: string): void {
    const dir = path.join(root, siteDir, 'backups', 'www', 'ghost');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'duplicity-full.20261122T211735Z.manifest.gpg'), 'm');
    fs.writeFileSync(path.join(dir, 'duplicity-full.20261122T211735Z.vol1.difftar.gpg'), 'v');
  }

  test('--domain ../../outside is refused (exit 2), listing nothing from outside $SS_ROOT', () => {
    const base = tempSsRoot('ssw-list-');
    const root = path.join(base, 'ss');
    fs.mkdirSync(path.join(root, 'sites'), { recursive: true });
    backupTree(base, 'outside');
    const r = run(['backup', 'list', '--domain', '../../outside', '--ss-root', root, '--json']);
    assertUsageError(r, /--domain "\.\.\/\.\.\/outside" is not a domain name/);
    assert.equal(r.stdout, '');
  });

  test('files among the sites and among the apps are skipped, not ENOTDIR', () => {
    const root = tempSsRoot('ssw-list-');
    backupTree(root, 'sites/example.com');
    fs.writeFileSync(path.join(root, 'sites', 'notes.txt'), 'an operator note');
    fs.writeFileSync(path.join(root, 'sites', 'example.com', 'backups', 'www', 'README'), 'x');
    fs.mkdirSync(path.join(root, 'sites', 'example.org'));
    fs.writeFileSync(path.join(root, 'sites', 'example.org', 'backups'), 'not a directory');
    const r = run(['backup', 'list', '--ss-root', root, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { backups: Array<{ domain: string; app: string; chains: unknown[] }> };
    assert.deepEqual(
      doc.backups.map((b) => [b.domain, b.app, b.chains.length]),
      [['example.com', 'ghost', 1]],
    );
    const one = run(['backup', 'list', '--domain', 'example.org', '--ss-root', root, '--json']);
    assert.equal(one.status, 0, one.stderr);
  });

  test('a "sites" that is a file is a clear error for backup list and config check', () => {
    const root = tempSsRoot('ssw-list-');
    fs.writeFileSync(path.join(root, 'sites'), 'oops');
    assertUsageError(run(['backup', 'list', '--ss-root', root]), /sites should be a directory, but it is a file/);
    assertUsageError(run(['config', 'check', '--ss-root', root]), /sites should be a directory, but it is a file/);
  });
});

describe('restore --time is a real date', () => {
  for (const bad of ['2026-13-45', '2026-02-30', '2026-11-20T25:00:00Z', '2026-11-20T10:61Z', 'yesterday']) {
    test(`--time ${bad} is refused before anything starts`, () => {
      const r = run([
        'restore',
        '--deployment',
        'public',
        '--remote',
        'home',
        '--time',
        bad,
        '--ss-root',
        tempSsRoot('ssw-time-'),
        '--temporal-address',
        '127.0.0.1:1',
      ]);
      assertUsageError(r, /--time .*expected a date or time like 2026-11-20/);
    });
  }
  for (const good of ['2026-11-20', '2024-02-29', '2026-11-20T10:00:00Z', '2026-11-20T10:00+01:00', '3D']) {
    test(`--time ${good} is accepted (the run goes on to the config)`, () => {
      const r = run([
        'restore',
        '--deployment',
        'public',
        '--remote',
        'home',
        '--time',
        good,
        '--ss-root',
        tempSsRoot('ssw-time-'),
        '--temporal-address',
        '127.0.0.1:1',
      ]);
      assert.doesNotMatch(r.stderr, /--time/);
      assert.match(r.stderr, /stub/);
    });
  }
});

describe('config files are read only when they are regular files', () => {
  test('a site.conf that is a FIFO is an error naming it, not a hang', () => {
    const root = configRoot();
    const site = path.join(root, 'sites/intranet.example.net/site.conf');
    fs.rmSync(site);
    execFileSync('mkfifo', [site]);
    const r = configCheck(root);
    assertUsageError(r, /site\.conf: expected a regular file of at most 256 KiB, but it is a FIFO \(named pipe\)/);
  });

  test('a project.conf that is a directory, or larger than 256 KiB, is an error naming it', () => {
    const root = configRoot();
    const project = path.join(root, 'projects/intranet/project.conf');
    fs.rmSync(project);
    fs.mkdirSync(project);
    assertUsageError(
      configCheck(root),
      /project\.conf: expected a regular file of at most 256 KiB, but it is a directory/,
    );
    fs.rmdirSync(project);
    fs.writeFileSync(project, `PRIMARY_DOMAIN=intranet.example.net\n${'#'.repeat(300 * 1024)}\n`);
    assertUsageError(
      configCheck(root),
      /project\.conf: expected a regular file of at most 256 KiB, but it is 300 KiB, more than the 256 KiB accepted/,
    );
  });

  test('a site.conf readable by other users is read, with a warning and the fix', () => {
    const root = configRoot();
    const site = path.join(root, 'sites/intranet.example.net/site.conf');
    fs.chmodSync(site, 0o644);
    const r = configCheck(root);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stderr,
      /warning: .*site\.conf holds this site's passwords and is readable by other users \(mode 644\)\. Run: chmod 600 /,
    );
    fs.chmodSync(site, 0o600);
    assert.doesNotMatch(configCheck(root).stderr, /warning/);
  });

  test('REGISTRY_URL is said to be ignored, once', () => {
    const r = configCheck(configRoot({ remote: ['REGISTRY_URL=http://registry.example.net:5000'] }));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.match(/REGISTRY_URL in the remote\.conf of "home" is ignored/g)?.length, 1, r.stderr);
    assert.doesNotMatch(configCheck(configRoot()).stderr, /REGISTRY_URL/);
  });
});

describe('bad flags end in exit 2 before anything is written or started', () => {
  /** A fresh unencrypted ed25519 key pair made by ssh-keygen. */
  function keyPair(dir: string): string {
    const key = path.join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    return key;
  }

  test("--ss-root '' is refused; nothing is written in the current directory", () => {
    const cwd = tempSsRoot('ssw-cwd-');
    const r = run(['config', 'check', '--remote', 'home', '--deployment', 'intranet', '--ss-root', ''], { cwd });
    assertUsageError(r, /--ss-root must name a directory .*got an empty value/);
    assert.deepEqual(fs.readdirSync(cwd), []);
    assertUsageError(run(['key', 'rotate', '--ss-root', ''], { cwd }), /--ss-root must name a directory/);
    assert.deepEqual(fs.readdirSync(cwd), []);
  });

  const keyCases: Array<[string, (dir: string) => string, RegExp]> = [
    ['a directory', (dir) => dir, /--ssh-key .*: expected a private key file, but it is a directory/],
    [
      'a .pub file',
      (dir) => `${keyPair(dir)}.pub`,
      /--ssh-key .*id_ed25519\.pub: this is a public key; pass the private key \(.*id_ed25519\)/,
    ],
    [
      'a file that is no key',
      (dir) => {
        fs.writeFileSync(path.join(dir, 'notes'), 'not a key');
        return path.join(dir, 'notes');
      },
      /--ssh-key .*notes: not a private key/,
    ],
    [
      'an encrypted key',
      (dir) => {
        const key = path.join(dir, 'enc');
        execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'a passphrase', '-f', key]);
        return key;
      },
      /--ssh-key .*enc: the key is encrypted/,
    ],
  ];
  for (const [what, make, message] of keyCases) {
    test(`--ssh-key naming ${what} is refused before any host key is pinned`, () => {
      const root = tempSsRoot('ssw-key-');
      const key = make(tempSsRoot('ssw-keyfile-'));
      const r = run(['host', 'check', '127.0.0.1', '--ssh-port', '1', '--ssh-key', key, '--ss-root', root]);
      assertUsageError(r, message);
      assert.deepEqual(fs.readdirSync(root), [], 'no known_hosts, no payload key');
    });
  }

  test('a link-local IPv6 address with a zone id is refused with what to use instead', () => {
    const root = tempSsRoot('ssw-key-');
    const key = keyPair(tempSsRoot('ssw-keyfile-'));
    const r = run(['host', 'check', 'fe80::1%eth0', '--ssh-key', key, '--ss-root', root]);
    assertUsageError(
      r,
      /HOST "fe80::1%eth0" is a link-local IPv6 address with a zone id, which ssw does not support: use the host's global or unique-local IPv6 address/,
    );
    assert.deepEqual(fs.readdirSync(root), []);
  });

  for (const port of ['70000', '0', 'abc']) {
    test(`--codec-port ${port} is refused before payload.key is created`, () => {
      const root = tempSsRoot('ssw-codec-');
      assertUsageError(run(['codec-server', '--codec-port', port, '--ss-root', root]), /--codec-port must be 1-65535/);
      assert.deepEqual(fs.readdirSync(root), []);
    });
  }

  test('ssw dev checks every flag before it starts a service or writes a key', () => {
    const root = tempSsRoot('ssw-dev-');
    assertUsageError(run(['dev', '--port', '99999', '--ss-root', root]), /--port must be 1-65535/);
    assertUsageError(run(['dev', '--tls-cert', '/x.pem', '--ss-root', root]), /--tls-cert and --tls-key go together/);
    assert.deepEqual(fs.readdirSync(root), []);
  });

  for (const command of [['worker'], ['list']]) {
    test(`ssw ${command[0]} --tls-cert without --tls-key is a usage error, not "Cannot reach Temporal"`, () => {
      const root = tempSsRoot('ssw-tls-');
      const r = run([...command, '--tls-cert', '/x.pem', '--temporal-address', '127.0.0.1:1', '--ss-root', root]);
      assertUsageError(r, /--tls-cert and --tls-key go together/);
      assert.doesNotMatch(r.stderr, /Cannot reach Temporal/);
    });
  }

  test('--tls-ca naming /dev/zero is refused, not read', () => {
    const r = run([
      'list',
      '--tls-ca',
      '/dev/zero',
      '--temporal-address',
      '127.0.0.1:1',
      '--ss-root',
      tempSsRoot('ssw-tls-'),
    ]);
    assertUsageError(r, /--tls-ca \/dev\/zero: expected a PEM file, but it is a character device/);
  });

  for (const [what, record] of [
    ['{}', '{}'],
    ['an array', '[]'],
    [
      'a record without its LXD endpoint',
      JSON.stringify({ name: 'home', ssh: { host: '127.0.0.1', port: 22, user: 'root' } }),
    ],
  ] as const) {
    test(`a remote.json of ${what} names the missing fields, and no client key is made`, () => {
      const root = tempSsRoot('ssw-rec-');
      fs.mkdirSync(path.join(root, 'remotes', 'home'), { recursive: true });
      fs.writeFileSync(path.join(root, 'remotes', 'home', 'remote.json'), record);
      for (const args of [
        ['remote', 'list'],
        ['remote', 'show', 'home'],
      ]) {
        const r = run([...args, '--ss-root', root]);
        assertUsageError(
          r,
          /remote\.json is not a remote record ssw wrote: .*(endpoint|whole record).* missing or wrong\. Run "ssw remote add home HOST \.\.\." again/,
        );
      }
      assert.equal(fs.existsSync(path.join(root, 'keys')), false, 'no client key generated');
    });
  }

  test('a 5000-character flag value is not echoed back whole', () => {
    const long = 'a'.repeat(5000);
    for (const args of [
      ['backup', 'list', '--domain', long],
      ['host', long, 'x'],
      ['restore', '--deployment', 'd', '--remote', 'home', '--time', long],
    ]) {
      const r = run([...args, '--ss-root', tempSsRoot('ssw-long-')]);
      assert.equal(r.status, 2, r.stderr);
      assert.ok(r.stderr.length < 1000, `${args[0]}: ${r.stderr.length} characters`);
      assert.match(r.stderr, /\.\.\.\(500\d characters\)/);
    }
  });
});
