import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ssw, startService } from '../helpers/cli';
import { composeMtlsNginxConf } from '../helpers/compose';
import { harness } from '../helpers/harness';
import { tempSsRoot, waitFor } from '../helpers/temporal';

// "An external Temporal by address and TLS options alone": the dev server has
// no TLS, so a real nginx terminates mutual TLS in front of the harness server
// (gRPC over HTTP/2), with certificates made here by openssl. Its config is
// docker-compose.temporal.yml's temporal-frontend-mtls, so this also proves the
// production setup admits only holders of a client certificate.
const PORT = 17443;
const dir = tempSsRoot('ssw-tls-');
const f = (name: string) => path.join(dir, name);
let nginx: ChildProcess;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

function makeCa(name: string): void {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    f(`${name}.key`),
    '-out',
    f(`${name}.pem`),
  );
}

function makeCert(name: string, ca: string, ext: string): void {
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    f(`${name}.key`),
    '-out',
    f(`${name}.csr`),
  );
  fs.writeFileSync(f(`${name}.ext`), ext);
  openssl(
    'x509',
    '-req',
    '-in',
    f(`${name}.csr`),
    '-CA',
    f(`${ca}.pem`),
    '-CAkey',
    f(`${ca}.key`),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    f(`${name}.ext`),
    '-out',
    f(`${name}.pem`),
  );
}

before(async () => {
  makeCa('ca');
  makeCa('rogue-ca');
  makeCert('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  makeCert('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  makeCert('rogue-client', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
  fs.mkdirSync(f('tmp'));
  // The compose file's own mTLS front (temporal-frontend-mtls), with its paths pointed here.
  const conf = composeMtlsNginxConf()
    .replaceAll('/etc/ssw-tls/', `${dir}/`)
    .replace('pid /tmp/ssw-mtls.pid;', `pid ${f('nginx.pid')};`)
    .replace('error_log stderr warn;', `error_log ${f('error.log')} warn;`)
    .replace(/listen 7233 /, `listen 127.0.0.1:${PORT} `)
    .replace('grpc_pass grpc://temporal:7233;', `grpc_pass grpc://${harness().temporal.address};`)
    .replace(
      'access_log off;',
      `access_log off;\n  client_body_temp_path ${f('tmp')}; proxy_temp_path ${f('tmp')}; fastcgi_temp_path ${f('tmp')}; uwsgi_temp_path ${f('tmp')}; scgi_temp_path ${f('tmp')};`,
    );
  fs.writeFileSync(f('nginx.conf'), conf);
  nginx = spawn('nginx', ['-c', f('nginx.conf'), '-p', dir, '-e', f('error.log')], { stdio: 'ignore' });
  await waitFor(
    'nginx to listen',
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(PORT, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      }),
  );
});

after(async () => {
  if (nginx.exitCode === null) {
    const gone = new Promise((r) => nginx.once('exit', r));
    nginx.kill('SIGQUIT');
    await gone;
  }
});

const base = () => [
  '--temporal-address',
  `127.0.0.1:${PORT}`,
  '--namespace',
  harness().temporal.namespace,
  '--ss-root',
  dir,
];
const mtls = () => ['--tls-ca', f('ca.pem'), '--tls-cert', f('client.pem'), '--tls-key', f('client.key')];

test('the CLI reaches Temporal through mutual TLS with --tls-ca, --tls-cert and --tls-key', () => {
  const r = ssw(['list', '--json', '--limit', '1', ...base(), ...mtls()]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(Array.isArray(JSON.parse(r.stdout)));
});

test('the same options come from TEMPORAL_TLS_* environment variables', () => {
  const r = ssw(['list', '--json', '--limit', '1', ...base()], {
    TEMPORAL_TLS_CA: f('ca.pem'),
    TEMPORAL_TLS_CERT: f('client.pem'),
    TEMPORAL_TLS_KEY: f('client.key'),
  });
  assert.equal(r.status, 0, r.stderr);
});

test('without a client certificate, or with one from another CA, the server refuses and ssw says so', () => {
  for (const args of [
    ['--tls-ca', f('ca.pem')],
    ['--tls-ca', f('ca.pem'), '--tls-cert', f('rogue-client.pem'), '--tls-key', f('rogue-client.key')],
  ]) {
    const r = ssw(['list', ...base(), ...args]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`Cannot reach Temporal at 127\\.0\\.0\\.1:${PORT} over TLS`));
    assert.match(r.stderr, /--tls-cert and --tls-key from a CA it trusts/);
    assert.doesNotMatch(r.stderr, /DeprecationWarning/);
    assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/);
  }
});

test('without TLS at all, nothing reaches the server behind it', () => {
  const r = ssw(['list', ...base()]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`Cannot reach Temporal at 127\\.0\\.0\\.1:${PORT}`));
});

test('a server certificate from an unknown CA is rejected', () => {
  const r = ssw([
    'list',
    ...base(),
    '--tls-ca',
    f('rogue-ca.pem'),
    '--tls-cert',
    f('client.pem'),
    '--tls-key',
    f('client.key'),
  ]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /Cannot reach Temporal at 127\.0\.0\.1:17443/);
});

test('a worker and an operation both run over mutual TLS', async () => {
  const taskQueue = `tls-${process.pid}`;
  const worker = await startService(['worker', '--task-queue', taskQueue, ...base(), ...mtls()], /Worker polling/);
  try {
    const fp = execFileSync('ssh-keygen', ['-lf', harness().ssh.hostPublicKeyPath], { encoding: 'utf8' }).split(' ')[1];
    const h = harness().ssh;
    const r = ssw([
      'host',
      'check',
      '127.0.0.1',
      '--ssh-port',
      String(h.port),
      '--ssh-key',
      h.privateKeyPath,
      '--pin-host-key',
      fp,
      '--task-queue',
      taskQueue,
      '--json',
      ...base(),
      ...mtls(),
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).result.os.id, 'debian');
  } finally {
    worker.ctrlC();
    assert.equal(await worker.exited, 0);
  }
});
