/**
 * The test harness itself: every service that test/harness/start.sh started answers
 * on loopback the way the other suites expect. If this fails, fix the harness first.
 */
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { Connection } from '@temporalio/client';
import { Client as SshClient } from 'ssh2';
import Docker from 'dockerode';
import { harness } from '../helpers/harness';

const SEARCH_ATTRIBUTES = ['SsRemote', 'SsDeployment', 'SsOperation', 'SsSite'];
/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD */
const INDEXED_VALUE_TYPE_KEYWORD = 2;

test('Temporal dev server answers with the namespace and the ssw search attributes', async () => {
  const env = harness();
  assert.match(env.temporal.address, /^127\.0\.0\.1:\d+$/);
  const connection = await Connection.connect({ address: env.temporal.address, connectTimeout: '10s' });
  try {
    const ns = await connection.workflowService.describeNamespace({ namespace: env.temporal.namespace });
    assert.equal(ns.namespaceInfo?.name, env.temporal.namespace);

    const sa = await connection.operatorService.listSearchAttributes({ namespace: env.temporal.namespace });
    for (const name of SEARCH_ATTRIBUTES) {
      const type = sa.customAttributes[name] as unknown;
      assert.ok(
        type === INDEXED_VALUE_TYPE_KEYWORD || type === 'INDEXED_VALUE_TYPE_KEYWORD',
        `search attribute ${name} should be a Keyword, got ${String(type)}`,
      );
    }
  } finally {
    await connection.close();
  }
});

test('sshd answers with the recorded host key and runs a command', async () => {
  const env = harness();
  assert.equal(env.ssh.host, '127.0.0.1');
  // The host key the server must present: from the .pub file, and the same in hostKeyLine.
  const [pubType, pubBlob] = fs.readFileSync(env.ssh.hostPublicKeyPath, 'utf8').trim().split(/\s+/);
  assert.equal(pubType, 'ssh-ed25519');
  assert.equal(env.ssh.hostKeyLine, `[127.0.0.1]:${env.ssh.port} ssh-ed25519 ${pubBlob}`);
  const expected = Buffer.from(pubBlob, 'base64');

  let presented: Buffer | undefined;
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const conn = new SshClient();
    const timer = setTimeout(() => {
      conn.end();
      reject(new Error('ssh: no answer within 15 s'));
    }, 15_000);
    conn
      .on('ready', () => {
        conn.exec('true', (err, stream) => {
          if (err) {
            clearTimeout(timer);
            conn.end();
            reject(err);
            return;
          }
          stream.on('close', (code: number | null) => {
            clearTimeout(timer);
            conn.end();
            resolve(code);
          });
          stream.resume();
          stream.stderr.resume();
        });
      })
      .on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      })
      .connect({
        host: env.ssh.host,
        port: env.ssh.port,
        username: env.ssh.user,
        privateKey: fs.readFileSync(env.ssh.privateKeyPath),
        algorithms: { serverHostKey: ['ssh-ed25519'] },
        hostVerifier: (key: Buffer) => {
          presented = key;
          return key.equals(expected);
        },
        readyTimeout: 10_000,
      });
  });
  assert.ok(presented?.equals(expected), 'the server presented the recorded host key');
  assert.equal(exitCode, 0);
});

test('sshd refuses a server key that does not match (verification is real)', async () => {
  const env = harness();
  const err = await new Promise<Error | undefined>((resolve) => {
    const conn = new SshClient();
    conn
      .on('ready', () => {
        conn.end();
        resolve(undefined);
      })
      .on('error', (e) => resolve(e))
      .connect({
        host: env.ssh.host,
        port: env.ssh.port,
        username: env.ssh.user,
        privateKey: fs.readFileSync(env.ssh.privateKeyPath),
        hostVerifier: () => false,
        readyTimeout: 10_000,
      });
  });
  assert.ok(err, 'connection must fail when the host key is rejected');
});

test('Docker Engine answers on the harness socket', async () => {
  const env = harness();
  const docker = new Docker({ socketPath: env.docker.socket });
  const pong = await docker.ping();
  assert.equal(String(pong), 'OK');
  const version = await docker.version();
  assert.ok(version.Version, 'docker version reports a server version');
  assert.ok(version.ApiVersion, 'docker version reports an API version');
});

function lxdGet(socketPath: string, path: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path, headers: { Host: 'lxd' }, timeout: 10_000 }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (data += chunk));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) });
        } catch (e) {
          reject(new Error(`LXD ${path}: not JSON: ${data.slice(0, 200)} (${String(e)})`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`LXD ${path}: timeout`)));
    req.on('error', reject);
  });
}

test('LXD answers on its unix socket with the default dir storage pool and the HTTPS listener', async () => {
  const env = harness();
  const server = await lxdGet(env.lxd.socket, '/1.0');
  assert.equal(server.status, 200);
  assert.equal(typeof server.body.metadata?.api_status, 'string');
  assert.equal(server.body.metadata.auth, 'trusted');
  assert.equal(server.body.metadata.config?.['core.https_address'], env.lxd.httpsAddress);

  const pool = await lxdGet(env.lxd.socket, '/1.0/storage-pools/default');
  assert.equal(pool.status, 200);
  assert.equal(pool.body.metadata?.name, 'default');
  assert.equal(pool.body.metadata?.driver, 'dir');
});

test('Incus 6.0 answers on its own socket, with its dir pool, its HTTPS listener and its test bridge', async () => {
  const env = harness();
  const server = await lxdGet(env.incus.socket, '/1.0');
  assert.equal(server.status, 200);
  assert.equal(server.body.metadata.environment?.server, 'incus');
  assert.match(server.body.metadata.environment?.server_version, /^6\./);
  assert.equal(server.body.metadata.config?.['core.https_address'], env.incus.httpsAddress);
  assert.equal((await lxdGet(env.incus.socket, '/1.0/storage-pools/default')).body.metadata?.driver, 'dir');
  const bridge = await lxdGet(env.incus.socket, `/1.0/networks/${env.incus.testBridge}`);
  assert.equal(bridge.body.metadata?.config?.['ipv4.address'], env.incus.testBridgeAddress);
  assert.equal((await lxdGet(env.incus.socket, `/1.0/images/aliases/${env.incus.baseImage}`)).status, 200);
  // Its socket's group is the Debian package's, as on a real host.
  assert.equal(execFileSync('stat', ['-c', '%G', env.incus.socket], { encoding: 'utf8' }).trim(), 'incus-admin');
});

test("each backend's host (sshd port) sees only its own daemon", () => {
  const env = harness();
  const see = (port: number) =>
    execFileSync(
      'ssh',
      [
        '-F',
        '/dev/null',
        '-i',
        env.ssh.privateKeyPath,
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'BatchMode=yes',
        '-o',
        `UserKnownHostsFile=${env.dir}/ssh/known_hosts`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-p',
        String(port),
        'root@127.0.0.1',
        'echo "lxd=${LXD_DIR:-} incus=${INCUS_DIR:-}"',
      ],
      { encoding: 'utf8' },
    ).trim();
  assert.equal(see(env.lxd.sshPort), `lxd=${env.lxd.dir} incus=`);
  assert.equal(see(env.incus.sshPort), `lxd= incus=${env.incus.dir}`);
});
