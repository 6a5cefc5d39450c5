import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmPayloadCodec, ENCODING, UnencryptedPayloadError } from '../../common/codec/aes-gcm-codec';
import { refusalOf } from '../../common/codec/refusal';
import { RefusingCodec } from '../../common/codec/refusing-codec';
import { loadOrCreateKeyring, parseKeyring, rotateKeyring } from '../../common/codec/keyring';
import { UserError } from '../../common/errors';
import { tempSsRoot } from '../helpers/temporal';

const MARKER = 'marker-7f3a-do-not-leak';
const payload = () => defaultPayloadConverter.toPayload({ secret: MARKER })!;

describe('payload key file', () => {
  test('is generated on first use with mode 0600 in a 0700 directory', () => {
    const file = path.join(tempSsRoot(), 'keys', 'payload.key');
    const ring = loadOrCreateKeyring(file);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    assert.equal(ring.current.key.length, 32);
    assert.deepEqual(loadOrCreateKeyring(file).current.key, ring.current.key, 'second load reuses the key');
  });

  test('refuses a key file other users can read, without printing its contents', () => {
    const file = path.join(tempSsRoot(), 'keys', 'payload.key');
    loadOrCreateKeyring(file);
    fs.chmodSync(file, 0o644);
    assert.throws(
      () => loadOrCreateKeyring(file),
      (err: Error) => err instanceof UserError && /chmod 600/.test(err.message),
    );
  });

  test('rejects a malformed line without echoing it', () => {
    const secretish = 'kdeadbeef AAAAsecretmaterialAAAA';
    assert.throws(
      () => parseKeyring(secretish, '/x/payload.key'),
      (err: Error) => {
        assert.match(err.message, /\/x\/payload.key:1: not a valid payload key line/);
        assert.ok(!err.message.includes('secretmaterial'));
        return true;
      },
    );
  });
});

describe('AES-GCM payload codec', () => {
  test('round-trips and leaves no plaintext in the encoded payload', async () => {
    const codec = new AesGcmPayloadCodec(loadOrCreateKeyring(path.join(tempSsRoot(), 'k')));
    const [enc] = await codec.encode([payload()]);
    assert.equal(Buffer.from(enc.metadata!.encoding!).toString(), ENCODING);
    assert.ok(!Buffer.from(enc.data!).includes(MARKER));
    assert.ok(!Buffer.from(enc.data!).includes('json/plain'), 'the inner encoding is hidden too');
    const [dec] = await codec.decode([enc]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(dec), { secret: MARKER });
  });

  test('uses a fresh IV per payload', async () => {
    const codec = new AesGcmPayloadCodec(loadOrCreateKeyring(path.join(tempSsRoot(), 'k')));
    const [a, b] = await codec.encode([payload(), payload()]);
    assert.notDeepEqual(Buffer.from(a.data!), Buffer.from(b.data!));
  });

  test('after rotation, new payloads use the new key and old ones still decrypt', async () => {
    const file = path.join(tempSsRoot(), 'k');
    const before = loadOrCreateKeyring(file);
    const [old] = await new AesGcmPayloadCodec(before).encode([payload()]);
    const newId = rotateKeyring(file);
    const after = loadOrCreateKeyring(file);
    assert.equal(after.current.id, newId);
    assert.notEqual(newId, before.current.id);
    const codec = new AesGcmPayloadCodec(after);
    const [fresh] = await codec.encode([payload()]);
    assert.equal(Buffer.from(fresh.metadata!['encryption-key-id']!).toString(), newId);
    const [decOld] = await codec.decode([old]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decOld), { secret: MARKER });
  });

  test('fails clearly on an unknown key id and on tampered data', async () => {
    const [enc] = await new AesGcmPayloadCodec(loadOrCreateKeyring(path.join(tempSsRoot(), 'a'))).encode([payload()]);
    const other = new AesGcmPayloadCodec(loadOrCreateKeyring(path.join(tempSsRoot(), 'b')));
    await assert.rejects(other.decode([enc]), /not in this machine's payload.key/);
    const mine = new AesGcmPayloadCodec(loadOrCreateKeyring(path.join(tempSsRoot(), 'c')));
    const [good] = await mine.encode([payload()]);
    const data = Buffer.from(good.data!);
    data[20] ^= 1;
    await assert.rejects(mine.decode([{ ...good, data }]), /auth|decrypt/i);
  });

  test('refuses unencrypted payloads: they did not come from a holder of the key', async () => {
    const codec = new AesGcmPayloadCodec(loadOrCreateKeyring(path.join(tempSsRoot(), 'k')));
    await assert.rejects(
      codec.decode([payload()]),
      (err: unknown) =>
        err instanceof UnencryptedPayloadError && /not encrypted with this machine's payload key/.test(err.message),
    );
  });

  test("the codec server's mode passes unencrypted payloads through, for the Web UI to show", async () => {
    const codec = new AesGcmPayloadCodec(loadOrCreateKeyring(path.join(tempSsRoot(), 'k')), { plaintext: 'pass' });
    const plain = payload();
    assert.deepEqual(await codec.decode([plain]), [plain]);
  });

  test("a worker's codec turns what it cannot decode into a refusal value, and decodes the rest", async () => {
    const keyring = loadOrCreateKeyring(path.join(tempSsRoot(), 'k'));
    const codec = new RefusingCodec(new AesGcmPayloadCodec(keyring));
    const [good] = await codec.encode([payload()]);
    const [foreign] = await new AesGcmPayloadCodec(loadOrCreateKeyring(path.join(tempSsRoot(), 'other'))).encode([
      payload(),
    ]);
    const decoded = (await codec.decode([good!, payload(), foreign!])).map((p) =>
      defaultPayloadConverter.fromPayload(p),
    );
    assert.deepEqual(decoded[0], { secret: MARKER });
    assert.match(refusalOf(decoded[1]) ?? '', /not encrypted with this machine's payload key/);
    assert.match(refusalOf(decoded[2]) ?? '', /not in this machine's payload.key/);
    assert.equal(refusalOf(decoded[0]), undefined);
  });
});
