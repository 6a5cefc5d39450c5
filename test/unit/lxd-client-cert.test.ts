import { execFileSync, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/failure-types';
import { SsPaths } from '../../common/paths';
import { loadOrCreateClientCert } from '../../activities/lxd';
import { tempSsRoot } from '../helpers/temporal';

const clientCertModule = require.resolve('../../activities/lxd/client-cert');
const pathsModule = require.resolve('../../common/paths');

function opensslFingerprint(file: string): string {
  const out = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', file], { encoding: 'utf8' });
  return out.trim().replace(/^.*=/, '').replace(/:/g, '').toLowerCase();
}

describe('the LXD client certificate', () => {
  test('is an ECDSA P-384 clientAuth certificate for ssw@<hostname>, valid ten years', async () => {
    const c = await loadOrCreateClientCert(new SsPaths(tempSsRoot()), { hostname: 'mgmt.example' });
    const x = new crypto.X509Certificate(c.certPem);
    assert.equal(x.subject, 'CN=ssw@mgmt.example');
    assert.equal(x.issuer, x.subject, 'self-signed');
    assert.ok(x.verify(x.publicKey), 'signed by its own key');
    assert.equal(x.publicKey.asymmetricKeyType, 'ec');
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
    assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'extendedKeyUsage is clientAuth only');
    assert.equal(x.ca, false);
    const years = (Date.parse(x.validTo) - Date.now()) / (365.25 * 24 * 3600_000);
    assert.ok(years > 9.9 && years < 10.1, `valid for ${years.toFixed(2)} years`);
    assert.ok(Date.parse(x.validFrom) <= Date.now());
    assert.ok(x.checkPrivateKey(crypto.createPrivateKey(c.keyPem)), 'the key belongs to the certificate');
  });

  test('the key is 0600 in a 0700 directory, and the fingerprint is the one openssl shows', async () => {
    const paths = new SsPaths(tempSsRoot());
    const c = await loadOrCreateClientCert(paths);
    assert.equal(c.keyFile, path.join(paths.keysDir, 'lxd-client.key'));
    assert.equal(c.certFile, path.join(paths.keysDir, 'lxd-client.crt'));
    assert.equal(fs.statSync(c.keyFile).mode & 0o777, 0o600);
    assert.equal(fs.statSync(paths.keysDir).mode & 0o777, 0o700);
    assert.equal(c.fingerprint, opensslFingerprint(c.certFile));
    assert.match(c.fingerprint, /^[0-9a-f]{64}$/);
  });

  test('a second call reuses the certificate and key on disk', async () => {
    const paths = new SsPaths(tempSsRoot());
    const first = await loadOrCreateClientCert(paths);
    const before = fs.statSync(first.certFile).mtimeMs;
    const second = await loadOrCreateClientCert(paths);
    assert.equal(second.fingerprint, first.fingerprint);
    assert.equal(second.keyPem, first.keyPem);
    assert.equal(fs.statSync(first.certFile).mtimeMs, before);
  });

  test('concurrent first use in four processes creates one certificate that every process uses', async () => {
    for (let round = 0; round < 4; round++) {
      const root = tempSsRoot();
      // Every child loads the module first, then spins until the same instant: the calls really overlap.
      const at = Date.now() + 1500;
      const script =
        `const m = require(${JSON.stringify(clientCertModule)}); const { SsPaths } = require(${JSON.stringify(pathsModule)});` +
        `while (Date.now() < ${at}); m.loadOrCreateClientCert(new SsPaths(${JSON.stringify(root)})).then((c) => process.stdout.write(c.fingerprint));`;
      const fingerprints = await Promise.all(Array.from({ length: 4 }, () => runChild(script)));
      const onDisk = await loadOrCreateClientCert(new SsPaths(root));
      for (const fp of fingerprints)
        assert.equal(fp, onDisk.fingerprint, `round ${round}: a process used a certificate that is not on disk`);
      const left = fs.readdirSync(path.join(root, 'keys')).sort();
      assert.deepEqual(left, ['lxd-client.crt', 'lxd-client.key'], 'no temporary files are left behind');
    }
  });

  test('a key without a certificate (a crash between the two steps) is completed with a certificate for that key', async () => {
    const paths = new SsPaths(tempSsRoot());
    const first = await loadOrCreateClientCert(paths);
    fs.rmSync(first.certFile);
    const again = await loadOrCreateClientCert(paths);
    assert.equal(again.keyPem, first.keyPem);
    assert.notEqual(again.fingerprint, first.fingerprint);
    assert.ok(new crypto.X509Certificate(again.certPem).checkPrivateKey(crypto.createPrivateKey(again.keyPem)));
  });

  test('a key readable by other users is refused, non-retryably, with the chmod to run', async () => {
    const paths = new SsPaths(tempSsRoot());
    const c = await loadOrCreateClientCert(paths);
    fs.chmodSync(c.keyFile, 0o644);
    await assert.rejects(loadOrCreateClientCert(paths), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, FailureType.Secret);
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /readable by other users \(mode 644\).*chmod 600 /);
      return true;
    });
  });

  test('a certificate that does not belong to the key is refused', async () => {
    const a = await loadOrCreateClientCert(new SsPaths(tempSsRoot()));
    const paths = new SsPaths(tempSsRoot());
    const b = await loadOrCreateClientCert(paths);
    fs.writeFileSync(b.certFile, a.certPem);
    await assert.rejects(loadOrCreateClientCert(paths), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, FailureType.Secret);
      assert.match(err.message, /does not belong to the key/);
      return true;
    });
  });
});

function runChild(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}
