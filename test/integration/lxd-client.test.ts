import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { FailureType } from '../../common/failure-types';
import { SsPaths } from '../../common/paths';
import {
  certFingerprint,
  loadOrCreateClientCert,
  lxdStatusOf,
  LxdClient,
  parseTrustToken,
  type ClientCert,
} from '../../activities/lxd';
import { backendUnderTest, harnessDir } from '../helpers/harness';
import { tempSsRoot, waitFor } from '../helpers/temporal';

// The harness LXD, or its Incus (SSW_TEST_BACKEND=incus): one client, both servers.
const h = backendUnderTest();
const httpsEndpoint = `https://${h.httpsAddress}`;
// Their command-line tools, for setting up only: `lxc` (LXD_DIR) or `incus` (INCUS_DIR).
const cli = h.backend === 'incus' ? 'incus' : 'lxc';
const lxcEnv =
  h.backend === 'incus'
    ? { ...process.env, INCUS_DIR: h.dir, INCUS_CONF: path.join(harnessDir(), 'incus-conf') }
    : { ...process.env, LXD_DIR: h.dir, LXD_CONF: path.join(harnessDir(), 'lxc-conf') };
const rand = (): string => crypto.randomBytes(4).toString('hex');

/** Over the unix socket: the harness's own admin view, used to set up, check and clean up. */
const local = new LxdClient({ endpoint: { socketPath: h.socket } });
/** Client certificates this file made the harness trust, removed at the end. */
const trustedFingerprints = new Set<string>();
/** Token names this file created, revoked at the end if still unused. */
const tokenNames = new Set<string>();

after(async () => {
  for (const fp of trustedFingerprints) {
    if (await local.getCertificate(fp)) await local.deleteCertificate(fp);
  }
  for (const name of tokenNames) {
    try {
      execFileSync(cli, ['config', 'trust', 'revoke-token', name], { env: lxcEnv, stdio: 'ignore' });
    } catch {
      // already redeemed
    }
  }
  local.close();
});

/**
 * `lxc config trust add --name NAME` (LXD 5.0) or `incus config trust add NAME` (Incus 6.0) prints "Client NAME
 * certificate add token:" and the token on the next line.
 */
function trustToken(name: string): string {
  tokenNames.add(name);
  const args = h.backend === 'incus' ? ['config', 'trust', 'add', name] : ['config', 'trust', 'add', '--name', name];
  const out = execFileSync(cli, args, { env: lxcEnv, encoding: 'utf8' });
  const lines = out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1]!;
}

/** Asserts an ApplicationFailure of a given type and retryability whose message matches every pattern. */
function isFailure(type: string, nonRetryable: boolean, ...patterns: RegExp[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    assert.equal(err.type, type, err.message);
    assert.equal(!!err.nonRetryable, nonRetryable, `nonRetryable should be ${nonRetryable}: ${err.message}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}

let serverInfo: Promise<{ certPem: string; fingerprint: string }> | undefined;
function serverCert(): Promise<{ certPem: string; fingerprint: string }> {
  serverInfo ??= local
    .server()
    .then((s) => ({ certPem: s.environment!.certificate, fingerprint: s.environment!.certificate_fingerprint }));
  return serverInfo;
}

interface Trusted {
  cert: ClientCert;
  client: LxdClient;
  name: string;
  token: string;
  authBefore: string;
}
let trusted: Promise<Trusted> | undefined;

/** A fresh client certificate that the harness LXD trusts through a token, and an HTTPS client presenting it. */
function trustedClient(): Promise<Trusted> {
  trusted ??= (async () => {
    const { certPem } = await serverCert();
    const cert = await loadOrCreateClientCert(new SsPaths(tempSsRoot('ssw-lxd-')));
    const name = `ssw-test-${rand()}`;
    const token = trustToken(name);
    const client = new LxdClient({ endpoint: httpsEndpoint, clientCert: cert, serverCertPem: certPem });
    const authBefore = (await client.server()).auth;
    trustedFingerprints.add(cert.fingerprint);
    await client.trustWithToken(token, name);
    return { cert, client, name, token, authBefore };
  })();
  return trusted;
}

after(async () => {
  if (trusted) (await trusted.catch(() => undefined))?.client.close();
});

describe('LXD client against the harness LXD', () => {
  test('over the unix socket, server() describes a trusted LXD and its certificate', async () => {
    const s = await local.server();
    assert.equal(s.auth, 'trusted');
    assert.equal(s.environment?.server, h.backend);
    assert.match(s.environment!.server_version, h.backend === 'incus' ? /^6\./ : /^5\./);
    assert.ok(s.api_extensions.includes('projects'));
    assert.equal(certFingerprint(s.environment!.certificate), s.environment!.certificate_fingerprint);
  });

  test('a trust token makes the server trust a fresh client certificate over HTTPS', async () => {
    const { fingerprint } = await serverCert();
    const t = await trustedClient();
    // The token alone names the server's certificate and address: enough to pin it.
    const decoded = parseTrustToken(t.token);
    assert.equal(decoded.fingerprint, fingerprint);
    assert.ok(decoded.addresses.includes(h.httpsAddress), `token addresses ${decoded.addresses.join(', ')}`);

    assert.equal(t.authBefore, 'untrusted');
    assert.equal((await t.client.server()).auth, 'trusted');
    const instances = await t.client.listInstances({ allProjects: true });
    assert.ok(Array.isArray(instances));
    const entry = await local.getCertificate(t.cert.fingerprint);
    assert.equal(entry?.type, 'client');
    assert.equal(entry?.name, t.name);
  });

  test('a token created through the API is redeemed the same way as one from lxc', async () => {
    const { certPem, fingerprint } = await serverCert();
    const cert = await loadOrCreateClientCert(new SsPaths(tempSsRoot('ssw-lxd-')));
    const name = `ssw-test-${rand()}`;
    tokenNames.add(name);
    const token = await local.createTrustToken(name);
    const decoded = parseTrustToken(token);
    assert.equal(decoded.client_name, name);
    assert.equal(decoded.fingerprint, fingerprint);
    const client = new LxdClient({ endpoint: httpsEndpoint, clientCert: cert, serverCertPem: certPem });
    try {
      trustedFingerprints.add(cert.fingerprint);
      assert.equal((await client.trustWithToken(token, name)).auth, 'trusted');
      assert.equal((await local.getCertificate(cert.fingerprint))?.name, name);
    } finally {
      client.close();
    }
  });

  test('a stream endpoint (what an SSH-forwarded socket provides) carries the same API', async () => {
    const viaStream = new LxdClient({
      endpoint: {
        label: `stream:${h.socket}`,
        connect: (cb) => {
          const s = net.connect(h.socket);
          s.once('connect', () => cb(undefined, s));
          s.once('error', (err) => cb(err, s));
        },
      },
    });
    assert.equal((await viaStream.server()).auth, 'trusted');
    assert.ok((await viaStream.listProjects()).some((p) => p.name === 'default'));
    const broken = new LxdClient({
      endpoint: {
        label: 'ssh://root@host:22/var/lib/lxd/unix.socket',
        connect: (cb) => cb(new Error('open failed'), new net.Socket()),
      },
    });
    await assert.rejects(
      broken.server(),
      isFailure(
        FailureType.LxdUnreachable,
        false,
        /Cannot reach the LXD API at ssh:\/\/root@host:22\/var\/lib\/lxd\/unix\.socket \(GET \/1\.0\): open failed/,
      ),
    );
  });

  test('server config merges, and a storage pool can be created and deleted', async () => {
    const before = (await local.server()).config;
    await local.patchServer({ config: {} });
    assert.deepEqual((await local.server()).config, before, 'an empty PATCH changes nothing');

    const name = `ssw-t-${rand()}`;
    const source = tempSsRoot('ssw-lxd-pool-');
    try {
      await local.createStoragePool({ name, driver: 'dir', description: 'ssw test', config: { source } });
      assert.equal((await local.getStoragePool(name))?.config.source, source);
      await local.patchStoragePool(name, { description: 'ssw test, patched' });
      assert.equal((await local.getStoragePool(name))?.description, 'ssw test, patched');
      await local.deleteStoragePool(name);
      assert.equal(await local.getStoragePool(name), undefined);
    } finally {
      if (await local.getStoragePool(name)) await local.deleteStoragePool(name);
      fs.rmSync(source, { recursive: true, force: true });
    }
  });

  test('a used token is refused, non-retryably, and the certificate stays untrusted', async () => {
    const { certPem } = await serverCert();
    const { token } = await trustedClient();
    const other = await loadOrCreateClientCert(new SsPaths(tempSsRoot('ssw-lxd-')));
    const client = new LxdClient({ endpoint: httpsEndpoint, clientCert: other, serverCertPem: certPem });
    try {
      await assert.rejects(
        client.trustWithToken(token, 'ssw-test-reused'),
        isFailure(FailureType.AuthFailed, true, /did not accept the trust token \(HTTP 403/),
      );
      assert.equal((await client.server()).auth, 'untrusted');
      await assert.rejects(
        client.listProjects(),
        isFailure(
          FailureType.AuthFailed,
          true,
          /GET \/1\.0\/projects on https:\/\/127\.0\.0\.1:\d+ failed \(HTTP 403\)/,
        ),
      );
      assert.equal(await local.getCertificate(other.fingerprint), undefined);
    } finally {
      client.close();
    }
  });

  test('a wrong pinned fingerprint fails non-retryably before the request is sent, naming both fingerprints', async () => {
    const { certPem, fingerprint } = await serverCert();
    const { cert } = await trustedClient();
    const wrong = crypto.randomBytes(32).toString('hex');
    const client = new LxdClient({
      endpoint: httpsEndpoint,
      clientCert: cert,
      serverCertPem: certPem,
      serverFingerprint: wrong,
    });
    const project = `ssw-t-${rand()}`;
    try {
      await assert.rejects(
        client.createProject({ name: project }),
        isFailure(
          FailureType.LxdCertMismatch,
          true,
          new RegExp(`presented a certificate with SHA-256 fingerprint ${fingerprint}`),
          new RegExp(`pinned fingerprint is ${wrong}`),
          /nothing was sent/,
        ),
      );
      // The certificate is trusted, so had the POST reached LXD the project would exist.
      assert.equal(await local.getProject(project), undefined);
    } finally {
      client.close();
      if (await local.getProject(project)) await local.deleteProject(project);
    }
  });

  test('pinning another certificate fails the TLS handshake, non-retryably', async () => {
    const { cert } = await trustedClient();
    const stranger = await loadOrCreateClientCert(new SsPaths(tempSsRoot('ssw-lxd-')));
    const client = new LxdClient({ endpoint: httpsEndpoint, clientCert: cert, serverCertPem: stranger.certPem });
    try {
      await assert.rejects(
        client.server(),
        isFailure(
          FailureType.LxdCertMismatch,
          true,
          new RegExp(`pinned fingerprint is ${stranger.fingerprint}`),
          /TLS verification: [A-Z_]+/,
        ),
      );
    } finally {
      client.close();
    }
  });

  test('projects, profiles, storage volumes, networks, pools and images round-trip in a fresh project', async () => {
    const { client } = await trustedClient();
    const project = `ssw-t-${rand()}`;
    const p = client.withProject(project);
    try {
      await client.createProject({
        name: project,
        description: 'ssw test',
        config: { 'features.profiles': 'true', 'features.storage.volumes': 'true', 'features.images': 'true' },
      });
      assert.equal((await client.getProject(project))?.config['features.profiles'], 'true');
      assert.ok((await client.listProjects()).some((x) => x.name === project));
      await client.patchProject(project, { description: 'ssw test, patched' });
      assert.equal((await client.getProject(project))?.description, 'ssw test, patched');
      assert.equal(await client.getProject(`ssw-t-missing-${rand()}`), undefined);

      // Profiles: create, PATCH merges, PUT replaces, delete.
      await p.createProfile({ name: 'ssw-test', description: 'test', config: { 'limits.cpu': '1' }, devices: {} });
      assert.deepEqual((await p.getProfile('ssw-test'))?.config, { 'limits.cpu': '1' });
      await p.patchProfile('ssw-test', { config: { 'limits.memory': '256MiB' } });
      assert.deepEqual((await p.getProfile('ssw-test'))?.config, { 'limits.cpu': '1', 'limits.memory': '256MiB' });
      await p.putProfile('ssw-test', { description: 'replaced', config: { 'limits.cpu': '2' }, devices: {} });
      const replaced = await p.getProfile('ssw-test');
      assert.deepEqual(replaced?.config, { 'limits.cpu': '2' });
      assert.equal(replaced?.description, 'replaced');
      assert.ok((await p.listProfiles()).some((x) => x.name === 'ssw-test'));
      assert.equal(await local.getProfile('ssw-test'), undefined, 'the profile lives in the project, not in default');
      await p.deleteProfile('ssw-test');
      assert.equal(await p.getProfile('ssw-test'), undefined);

      // Custom storage volumes on the harness pool: create, grow, a duplicate is a final 409, delete.
      await p.createStorageVolume('default', { name: 'ssw-data', config: { size: '16MiB' } });
      const vol = await p.getStorageVolume('default', 'ssw-data');
      assert.equal(vol?.config.size, '16MiB');
      assert.equal(vol?.content_type, 'filesystem');
      assert.deepEqual(
        (await p.listStorageVolumes('default')).map((v) => v.name),
        ['ssw-data'],
      );
      await p.patchStorageVolume('default', 'ssw-data', { config: { size: '32MiB' } });
      assert.equal((await p.getStorageVolume('default', 'ssw-data'))?.config.size, '32MiB');
      await assert.rejects(p.createStorageVolume('default', { name: 'ssw-data' }), (err: unknown) => {
        isFailure(FailureType.LxdApi, true, /POST \/1\.0\/storage-pools\/default\/volumes\/custom on https:/)(err);
        assert.equal(lxdStatusOf(err), 409);
        return true;
      });
      await p.deleteStorageVolume('default', 'ssw-data');
      assert.equal(await p.getStorageVolume('default', 'ssw-data'), undefined);

      // Networks: read only (the harness must not grow bridges).
      const networks = await p.listNetworks();
      assert.ok(networks.length > 0);
      assert.equal((await p.getNetwork(networks[0]!.name))?.name, networks[0]!.name);
      assert.equal(await p.getNetwork(`ssw-none-${rand()}`), undefined);

      // Storage pools are global; a PATCH that changes nothing proves the call without touching the shared pool.
      const pool = await client.getStoragePool('default');
      assert.equal(pool?.driver, 'dir');
      assert.ok((await client.listStoragePools()).some((x) => x.name === 'default'));
      await client.patchStoragePool('default', { description: pool!.description ?? '' });
      assert.equal(await client.getStoragePool(`ssw-none-${rand()}`), undefined);

      // Images: none exist here; lookups say so.
      assert.deepEqual(await p.listImageAliases(), []);
      assert.equal(await p.getImageAlias('ssw-base'), undefined);
      assert.equal(await p.getImageByAlias('ssw-base'), undefined);
      assert.equal(await p.getImage('0'.repeat(64)), undefined);
      assert.deepEqual(await p.listInstances(), []);

      await client.deleteProject(project);
      assert.equal(await client.getProject(project), undefined);
    } finally {
      await cleanProject(project);
    }
  });

  test('background operations are waited for, and a failed one throws its error', async () => {
    const { client } = await trustedClient();
    const project = `ssw-t-${rand()}`;
    const p = client.withProject(project);
    try {
      await client.createProject({
        name: project,
        config: { 'features.profiles': 'true', 'features.storage.volumes': 'true' },
      });
      // An empty container (no image exists here): its creation and deletion are async operations.
      await p.createInstance({
        name: 'ssw-empty',
        type: 'container',
        source: { type: 'none' },
        devices: { root: { type: 'disk', path: '/', pool: 'default' } },
      });
      const inst = await p.getInstance('ssw-empty');
      assert.equal(inst?.status, 'Stopped');
      assert.deepEqual(
        (await client.listInstances({ allProjects: true })).filter((i) => i.project === project).map((i) => i.name),
        ['ssw-empty'],
      );
      assert.equal((await p.getInstanceState('ssw-empty'))?.status, 'Stopped');

      // It has no root filesystem, so starting it fails inside the operation.
      await assert.rejects(
        p.setInstanceState('ssw-empty', { action: 'start', timeout: 30 }),
        isFailure(
          FailureType.LxdApi,
          true,
          /^LXD operation "Starting instance" on https:\/\/127\.0\.0\.1:\d+ failed: .+/,
        ),
      );

      // Incus 6.0 may still be tearing the failed start down when its operation ends: for a moment the instance
      // reads Stopped, then HTTP 500 "Invalid PID", and a delete is refused with "Instance is running". LXD 5.0
      // answers once it is done. The delete is asked again until the instance lets it.
      const op = await waitFor(
        'the failed instance to be deletable',
        () => p.mutate('DELETE', '/1.0/instances/ssw-empty', undefined, {}, { project }).catch(() => undefined),
        30_000,
        200,
      );
      assert.equal(op?.status, 'Success');
      assert.equal(op?.status_code, 200);
      // A finished operation stays visible for a few seconds: waiting on it by id returns at once.
      assert.equal((await p.waitOperation(op!.id, { timeoutMs: 5000 })).status, 'Success');
      assert.equal(await p.getInstance('ssw-empty'), undefined);
      await client.deleteProject(project);
    } finally {
      await cleanProject(project);
    }
  });

  test('an unreachable endpoint is a retryable failure naming it', async () => {
    const { certPem } = await serverCert();
    const port = await closedPort();
    const client = new LxdClient({ endpoint: `https://127.0.0.1:${port}`, serverCertPem: certPem });
    await assert.rejects(
      client.server(),
      isFailure(
        FailureType.LxdUnreachable,
        false,
        new RegExp(`Cannot reach the LXD API at https://127\\.0\\.0\\.1:${port} \\(GET /1\\.0\\): connection refused`),
      ),
    );
    const missing = new LxdClient({ endpoint: { socketPath: path.join(tempSsRoot(), 'no.socket') } });
    await assert.rejects(
      missing.server(),
      isFailure(FailureType.LxdUnreachable, false, /Cannot reach the LXD API at unix:.*no\.socket .*no such socket/),
    );
  });
});

describe('LXD client against a stand-in server', () => {
  test('5xx is retryable, other 4xx final, and a non-JSON answer is reported', async () => {
    await withStandIn(
      (req, res) => {
        if (req.url === '/1.0/profiles/boom')
          return json(res, 500, { type: 'error', error: 'database is locked', error_code: 500 });
        if (req.url === '/1.0/profiles/bad')
          return json(res, 400, { type: 'error', error: 'Invalid profile name', error_code: 400 });
        res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>not lxd</html>');
      },
      async (client, label) => {
        await assert.rejects(
          client.getProfile('boom'),
          isFailure(
            FailureType.LxdServerError,
            false,
            new RegExp(`GET /1\\.0/profiles/boom on ${label} failed \\(HTTP 500\\): database is locked`),
          ),
        );
        await assert.rejects(
          client.getProfile('bad'),
          isFailure(FailureType.LxdApi, true, /HTTP 400\): Invalid profile name/),
        );
        await assert.rejects(
          client.server(),
          isFailure(FailureType.LxdApi, true, /not an LXD API response: <html>not lxd<\/html>/),
        );
      },
    );
  });

  test('the wait loop asks again after a server-side timeout, in both the LXD 5.0 and the newer form', async () => {
    const waits: string[] = [];
    await withStandIn(
      (req, res) => {
        const url = new URL(req.url!, 'http://lxd');
        if (req.method === 'POST' && url.pathname === '/1.0/instances') {
          return json(res, 202, {
            type: 'async',
            operation: '/1.0/operations/op1',
            metadata: { id: 'op1', description: 'Creating instance', status: 'Running', status_code: 103 },
          });
        }
        if (url.pathname === '/1.0/operations/op1/wait') {
          waits.push(url.searchParams.get('timeout')!);
          // LXD 5.0: the running operation; LXD >= 5.x / Incus: an error; then done.
          if (waits.length === 1)
            return json(res, 200, { type: 'sync', metadata: { id: 'op1', status: 'Running', status_code: 103 } });
          if (waits.length === 2)
            return json(res, 500, { type: 'error', error: 'context deadline exceeded', error_code: 500 });
          return json(res, 200, { type: 'sync', metadata: { id: 'op1', status: 'Success', status_code: 200 } });
        }
        if (url.pathname === '/1.0/operations/op2/wait') {
          return json(res, 200, {
            type: 'sync',
            metadata: {
              id: 'op2',
              description: 'Deleting instance',
              status: 'Failure',
              status_code: 400,
              err: 'Instance is running',
            },
          });
        }
        json(res, 404, { type: 'error', error: 'not found', error_code: 404 });
      },
      async (client) => {
        await client.createInstance({ name: 'x', source: { type: 'none' } });
        assert.equal(waits.length, 3);
        assert.ok(
          waits.every((t) => Number(t) >= 1 && Number(t) <= 30),
          `server-side wait slices ${waits.join(', ')}`,
        );
        await assert.rejects(
          client.waitOperation('/1.0/operations/op2'),
          isFailure(
            FailureType.LxdApi,
            true,
            /^LXD operation "Deleting instance" on unix:.* failed: Instance is running$/,
          ),
        );
      },
    );
  });

  test('a server that never answers times out (retryable), and an abort cancels the call', async () => {
    await withStandIn(
      () => {
        // never answers
      },
      async (_client, label, socketPath) => {
        const slow = new LxdClient({ endpoint: { socketPath }, requestTimeoutMs: 300 });
        await assert.rejects(
          slow.server(),
          isFailure(FailureType.LxdUnreachable, false, new RegExp(`${label} did not answer GET /1\\.0 within 300 ms`)),
        );
        const ac = new AbortController();
        setTimeout(() => ac.abort(), 100);
        await assert.rejects(slow.server({ signal: ac.signal }), (err: unknown) => err instanceof CancelledFailure);
        slow.close();
      },
    );
  });
});

/** Removes whatever a test left in its project (instances, volumes, profiles), then the project. */
async function cleanProject(project: string): Promise<void> {
  if (!(await local.getProject(project))) return;
  const p = local.withProject(project);
  for (const i of await p.listInstances()) await p.deleteInstance(i.name);
  for (const v of await p.listStorageVolumes('default')) await p.deleteStorageVolume('default', v.name);
  for (const pr of await p.listProfiles()) if (pr.name !== 'default') await p.deleteProfile(pr.name);
  await local.deleteProject(project);
}

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

/** An HTTP server on a unix socket standing in for LXD, for answers the real one will not give on demand. */
async function withStandIn(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  body: (client: LxdClient, label: string, socketPath: string) => Promise<void>,
): Promise<void> {
  const socketPath = path.join(tempSsRoot('ssw-lxd-'), 'lxd.socket');
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(socketPath, r));
  const client = new LxdClient({ endpoint: { socketPath } });
  try {
    await body(client, `unix:${socketPath}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), socketPath);
  } finally {
    client.close();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(path.dirname(socketPath), { recursive: true, force: true });
  }
}
