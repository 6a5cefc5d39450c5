import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  HostKeyConflictError,
  fingerprintSha256,
  forgetHostKey,
  keyTypeOfBlob,
  knownHostsLine,
  knownHostsName,
  lookupHostKeys,
  pinHostKey,
  readKnownHosts,
} from '../../common/known-hosts';

let dir: string;

/** A fresh key pair made by ssh-keygen; returns the public key blob and the .pub path. */
function makeKey(name: string, type = 'ed25519'): { blob: Buffer; pub: string } {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', name, '-f', file]);
  const pub = `${file}.pub`;
  const blob = Buffer.from(fs.readFileSync(pub, 'utf8').split(' ')[1]!, 'base64');
  return { blob, pub };
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-known-hosts-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('fingerprints and names', () => {
  test('fingerprintSha256 equals ssh-keygen -lf for ed25519 and rsa keys', () => {
    for (const type of ['ed25519', 'rsa']) {
      const { blob, pub } = makeKey(`fp-${type}`, type);
      const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pub], { encoding: 'utf8' }).split(' ')[1];
      assert.equal(fingerprintSha256(blob), printed);
      assert.doesNotMatch(fingerprintSha256(blob), /=/);
    }
  });

  test('keyTypeOfBlob reads the type from the blob itself', () => {
    assert.equal(keyTypeOfBlob(makeKey('kt-ed').blob), 'ssh-ed25519');
    assert.equal(keyTypeOfBlob(makeKey('kt-ec', 'ecdsa').blob), 'ecdsa-sha2-nistp256');
    assert.throws(() => keyTypeOfBlob(Buffer.from([0, 0])), /Malformed/);
  });

  test('port 22 uses the bare host, other ports the [host]:port form', () => {
    assert.equal(knownHostsName('example.org', 22), 'example.org');
    assert.equal(knownHostsName('127.0.0.1', 12222), '[127.0.0.1]:12222');
    assert.equal(knownHostsName('::1', 2222), '[::1]:2222');
  });
});

describe('pinning', () => {
  test('pins atomically with mode 0600 in a line ssh-keygen can find, and is idempotent', () => {
    const file = path.join(dir, 'sub', 'known_hosts');
    const { blob } = makeKey('pin');
    const first = pinHostKey(file, '127.0.0.1', 2222, blob);
    assert.deepEqual(first, { added: true, fingerprint: fingerprintSha256(blob), keyType: 'ssh-ed25519' });
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const content = fs.readFileSync(file, 'utf8');
    assert.equal(content, `[127.0.0.1]:2222 ssh-ed25519 ${blob.toString('base64')}\n`);
    assert.match(
      execFileSync('ssh-keygen', ['-F', '[127.0.0.1]:2222', '-f', file], { encoding: 'utf8' }),
      /Host \[127\.0\.0\.1\]:2222 found/,
    );

    assert.equal(pinHostKey(file, '127.0.0.1', 2222, blob).added, false);
    assert.equal(fs.readFileSync(file, 'utf8'), content);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['known_hosts'], 'no temp files are left behind');
  });

  test('the port is part of the identity', () => {
    const file = path.join(dir, 'ports');
    const a = makeKey('port-a').blob;
    const b = makeKey('port-b').blob;
    pinHostKey(file, 'h.example', 22, a);
    pinHostKey(file, 'h.example', 2222, b);
    assert.equal(
      fs.readFileSync(file, 'utf8'),
      `${knownHostsLine('h.example', 22, a)}\n${knownHostsLine('h.example', 2222, b)}\n`,
    );
    assert.ok(lookupHostKeys(file, 'h.example', 22)[0]!.keyBlob.equals(a));
    assert.ok(lookupHostKeys(file, 'h.example', 2222)[0]!.keyBlob.equals(b));
    assert.deepEqual(lookupHostKeys(file, 'h.example', 2223), []);
  });

  test('refuses to replace a pinned key of the same type, but adds another type', () => {
    const file = path.join(dir, 'conflict');
    const old = makeKey('conflict-old').blob;
    pinHostKey(file, '10.0.0.1', 22, old);
    assert.throws(
      () => pinHostKey(file, '10.0.0.1', 22, makeKey('conflict-new').blob),
      (err: unknown) =>
        err instanceof HostKeyConflictError &&
        /conflict:1 already pins a different ssh-ed25519 key for 10\.0\.0\.1/.test(err.message),
    );
    const rsa = makeKey('conflict-rsa', 'rsa').blob;
    assert.equal(pinHostKey(file, '10.0.0.1', 22, rsa).added, true);
    assert.deepEqual(
      lookupHostKeys(file, '10.0.0.1', 22).map((e) => e.keyType),
      ['ssh-ed25519', 'ssh-rsa'],
    );
  });
});

describe('reading an operator-edited file', () => {
  test('understands comments, patterns, negation, hashed hosts and markers, and keeps what it cannot parse', () => {
    const file = path.join(dir, 'mixed');
    const k = Array.from({ length: 6 }, (_, i) => makeKey(`mixed-${i}`).blob);
    const line = (hosts: string, blob: Buffer) => `${hosts} ssh-ed25519 ${blob.toString('base64')}`;
    // Hash one entry the way OpenSSH does (HashKnownHosts), using ssh-keygen itself.
    const hashedFile = path.join(dir, 'to-hash');
    fs.writeFileSync(hashedFile, `${line('[hashed.example]:2200', k[3]!)}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', hashedFile], { stdio: 'pipe' });
    const hashed = fs.readFileSync(hashedFile, 'utf8').trim();
    assert.match(hashed, /^\|1\|/);
    const text = [
      '# ssw known hosts',
      '',
      line('a.example,b.example', k[0]!),
      line('*.wild.example,!bad.wild.example', k[1]!),
      `@cert-authority *.example ssh-ed25519 ${k[2]!.toString('base64')}`,
      hashed,
      'garbage line',
      `mismatched ssh-rsa ${k[4]!.toString('base64')}`,
      line('[a.example]:2222', k[5]!),
    ].join('\n');
    fs.writeFileSync(file, `${text}\n`);

    assert.deepEqual(
      readKnownHosts(file).map((e) => e.line),
      [3, 4, 6, 9],
    );
    assert.ok(lookupHostKeys(file, 'B.example', 22)[0]!.keyBlob.equals(k[0]!), 'host names match case-insensitively');
    assert.equal(lookupHostKeys(file, 'a.example', 2222).length, 1);
    assert.ok(lookupHostKeys(file, 'x.wild.example', 22)[0]!.keyBlob.equals(k[1]!));
    assert.deepEqual(lookupHostKeys(file, 'bad.wild.example', 22), [], 'a negated pattern vetoes the line');
    assert.deepEqual(lookupHostKeys(file, 'c.example', 22), [], '@cert-authority lines are not host keys');
    assert.ok(lookupHostKeys(file, 'hashed.example', 2200)[0]!.keyBlob.equals(k[3]!), 'hashed entries match');
    assert.deepEqual(lookupHostKeys(file, 'mismatched', 22), [], 'a line whose blob names another type is ignored');

    // Forgetting one host leaves every other line, comments and garbage included, untouched.
    assert.equal(forgetHostKey(file, 'a.example', 2222), 1);
    assert.equal(fs.readFileSync(file, 'utf8'), `${text.split('\n').slice(0, -1).join('\n')}\n`);
  });

  test('a missing file has no entries', () => {
    assert.deepEqual(lookupHostKeys(path.join(dir, 'nope'), 'x', 22), []);
  });
});

describe('forgetting', () => {
  test('removes exact and hashed matches, optionally by type, and leaves wildcard lines', () => {
    const file = path.join(dir, 'forget');
    const ed = makeKey('forget-ed').blob;
    const rsa = makeKey('forget-rsa', 'rsa').blob;
    const wild = makeKey('forget-wild').blob;
    pinHostKey(file, '127.0.0.1', 2222, ed);
    pinHostKey(file, '127.0.0.1', 2222, rsa);
    fs.appendFileSync(file, `[127.0.0.*]:2222 ssh-ed25519 ${wild.toString('base64')}\n`);

    assert.equal(forgetHostKey(file, '127.0.0.1', 2222, 'ssh-rsa'), 1);
    assert.deepEqual(
      lookupHostKeys(file, '127.0.0.1', 2222).map((e) => e.fingerprint),
      [fingerprintSha256(ed), fingerprintSha256(wild)],
    );
    assert.equal(forgetHostKey(file, '127.0.0.1', 2222), 1);
    assert.deepEqual(
      lookupHostKeys(file, '127.0.0.1', 2222).map((e) => e.fingerprint),
      [fingerprintSha256(wild)],
    );
    assert.equal(forgetHostKey(file, '127.0.0.1', 2222), 0, 'forgetting again changes nothing');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);

    // A hashed entry is removed too.
    const hashedFile = path.join(dir, 'forget-hashed');
    fs.writeFileSync(hashedFile, `${knownHostsLine('h.example', 22, ed)}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', hashedFile], { stdio: 'pipe' });
    assert.equal(forgetHostKey(hashedFile, 'h.example', 22), 1);
    assert.equal(fs.readFileSync(hashedFile, 'utf8'), '');
  });
});
