import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmPayloadCodec } from '../../common/codec/aes-gcm-codec';
import { loadOrCreateKeyring } from '../../common/codec/keyring';
import { createCodecServer, listenCodecServer, uiOrigins } from '../../client/services/codec-server';
import { uidOfUser } from '../../client/commands/codec-server';
import { harness } from '../helpers/harness';
import { tempSsRoot } from '../helpers/temporal';

const UI = 'http://127.0.0.1:8233';
let server: Server;
let url: string;
const codec = new AesGcmPayloadCodec(loadOrCreateKeyring(path.join(tempSsRoot(), 'keys', 'payload.key')));

before(async () => {
  server = createCodecServer({ codec, allowedOrigins: uiOrigins(8233) });
  url = await listenCodecServer(server, { port: 0 });
});
after(() => new Promise((r) => server.close(r)));

const post = (route: string, body: unknown, origin = UI) =>
  fetch(url + route, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: origin },
    body: JSON.stringify(body),
  });

test('binds to loopback only', () => {
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
});

test("POST /encode then /decode round-trips a payload in the Web UI's JSON form", async () => {
  const p = defaultPayloadConverter.toPayload({ hello: 'world' })!;
  const asJson = {
    metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
    data: Buffer.from(p.data!).toString('base64'),
  };
  const enc = await post('/encode', { payloads: [asJson] });
  assert.equal(enc.status, 200);
  assert.equal(enc.headers.get('access-control-allow-origin'), UI);
  const encoded = (await enc.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
  assert.equal(Buffer.from(encoded.payloads[0].metadata.encoding, 'base64').toString(), 'binary/encrypted');
  assert.ok(!Buffer.from(encoded.payloads[0].data, 'base64').includes('world'));

  const dec = await post('/decode', encoded);
  assert.equal(dec.status, 200);
  const decoded = (await dec.json()) as typeof encoded;
  assert.deepEqual(decoded.payloads[0], asJson);
});

test('answers CORS preflight for the UI origin and nobody else', async () => {
  const ok = await fetch(url + '/decode', {
    method: 'OPTIONS',
    headers: { Origin: UI, 'Access-Control-Request-Method': 'POST' },
  });
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get('access-control-allow-origin'), UI);
  assert.match(ok.headers.get('access-control-allow-headers') ?? '', /X-Namespace/);
  const evil = await fetch(url + '/decode', {
    method: 'OPTIONS',
    headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
  });
  assert.equal(evil.status, 403);
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
});

test('refuses a foreign Host (DNS rebinding) and a POST from a foreign origin', async () => {
  const port = new URL(url).port;
  const rebound = await new Promise<number>((resolve, reject) => {
    const req = require('node:http').request(
      {
        host: '127.0.0.1',
        port,
        path: '/decode',
        method: 'POST',
        headers: { Host: `evil.example:${port}`, 'Content-Type': 'application/json' },
      },
      (res: import('node:http').IncomingMessage) => resolve(res.statusCode ?? 0),
    );
    req.on('error', reject);
    req.end(JSON.stringify({ payloads: [] }));
  });
  assert.equal(rebound, 403);
  assert.equal((await post('/decode', { payloads: [] }, 'http://evil.example')).status, 403);
  const noOrigin = await fetch(url + '/decode', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{"payloads":[]}',
  });
  assert.equal(noOrigin.status, 200, 'local tools without an Origin (curl, the CLI) may use it');
});

test('rejects malformed bodies and unknown routes', async () => {
  assert.equal((await post('/decode', { nope: 1 })).status, 400);
  assert.equal((await post('/other', { payloads: [] })).status, 404);
});

/**
 * POSTs /decode from a process running as `user` (runuser), returning the HTTP status (asynchronously: the server runs
 * in this process).
 */
async function statusAs(user: string, target: string): Promise<number> {
  const script = `fetch(${JSON.stringify(target + '/decode')}, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"payloads":[]}' }).then((r) => console.log(r.status), (e) => console.log('error ' + e.message))`;
  const { stdout } = await promisify(execFile)('runuser', ['-u', user, '--', process.execPath, '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return Number(stdout.trim());
}

test("serves only connections opened by the key's owner, root, or a user it was told to allow", async () => {
  const other = harness().ssh.unprivilegedUser;
  assert.equal(await statusAs('root', url), 200, "this process's own user (root here)");
  assert.equal(await statusAs(other, url), 403, 'another local user may not decrypt histories');
  const allowing = createCodecServer({ codec, allowedOrigins: uiOrigins(8233), allowedUids: [0, uidOfUser(other)] });
  const allowingUrl = await listenCodecServer(allowing, { port: 0 });
  try {
    assert.equal(await statusAs(other, allowingUrl), 200, '--codec-allow-user');
  } finally {
    await new Promise((r) => allowing.close(r));
  }
});
