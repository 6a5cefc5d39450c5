import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseCertificate, renewalDecision } from '../../activities/certbot/certificate';
import { certbotArgv, classifyCertbotFailure, parseAcmeProblems } from '../../activities/certbot/commands';
import { asRoot } from '../../common/hosts';
import { connectAddress } from '../../activities/ssh/tunnel';
import { newPayloadKey, type Keyring } from '../../common/codec/keyring';
import { seal, sealedHeader, unseal } from '../../common/codec/sealed-file';
import { isAbsolutePath, isAcmeServer } from '../../common/config';
import { FailureType } from '../../common/failure-types';
import { certRenewSchedule, defaultTimeFor, definitionDigest, parseTimeOfDay } from '../../common/temporal/schedules';
import {
  acmeDirectoryUrl,
  certificateNames,
  certOperationTarget,
  LETS_ENCRYPT,
  letsencryptPaths,
  type SiteCertPlan,
} from '../../common/tls/plan';
import { tempSsRoot } from '../helpers/temporal';

const HOSTNAMES = { www: 'www', btcpay: 'btcpay', nextcloud: 'nextcloud', gitea: 'git', nostr: 'relay' };
const site: SiteCertPlan = {
  domain: 'example.com',
  names: ['example.com', 'www.example.com', 'btcpay.example.com'],
  acmeServer: LETS_ENCRYPT.staging,
  contactEmail: 'info@example.com',
};

describe('certificate names and ACME directory', () => {
  test("a site's names follow ss's generate_certs.sh: domain, www, btcpay, enabled apps, BTCPay alt names", () => {
    const names = certificateNames(
      {
        domain: 'example.com',
        deploy: { nextcloud: true, gitea: false, nostr: true },
        btcpayAltNames: ['tip', 'store'],
      },
      HOSTNAMES,
    );
    assert.deepEqual(names, [
      'example.com',
      'www.example.com',
      'btcpay.example.com',
      'nextcloud.example.com',
      'relay.example.com',
      'tip.example.com',
      'store.example.com',
    ]);
    const minimal = certificateNames(
      { domain: 'a.org', deploy: { nextcloud: false, gitea: false, nostr: false }, btcpayAltNames: ['www'] },
      HOSTNAMES,
    );
    assert.deepEqual(minimal, ['a.org', 'www.a.org', 'btcpay.a.org'], 'no duplicate when an alt name repeats www');
  });

  test("ACME_SERVER: unset or production is Let's Encrypt, staging by name or flag, any https URL as is", () => {
    assert.equal(acmeDirectoryUrl(undefined), LETS_ENCRYPT.production);
    assert.equal(acmeDirectoryUrl('production'), LETS_ENCRYPT.production);
    assert.equal(acmeDirectoryUrl('staging'), LETS_ENCRYPT.staging);
    assert.equal(acmeDirectoryUrl('https://ca.example/dir'), 'https://ca.example/dir');
    assert.equal(acmeDirectoryUrl('https://ca.example/dir', true), LETS_ENCRYPT.staging);
    assert.ok(isAcmeServer('staging') && isAcmeServer('https://127.0.0.1:14000/dir'));
    assert.ok(!isAcmeServer('http://ca.example/dir'), 'plain http is refused: the account key would travel in clear');
    assert.ok(!isAcmeServer('letsencrypt'));
    assert.ok(
      isAbsolutePath('/etc/ssl/ca.pem') &&
        !isAbsolutePath('etc/ca.pem') &&
        !isAbsolutePath('/a b') &&
        !isAbsolutePath('/a/../b'),
    );
  });

  test("certbot's files live where ss keeps them, one config dir per domain, one shared webroot", () => {
    const p = letsencryptPaths('/home/ubuntu/ss-data/', 'example.com');
    assert.equal(p.configDir, '/home/ubuntu/ss-data/letsencrypt/example.com');
    assert.equal(p.liveDir, '/home/ubuntu/ss-data/letsencrypt/example.com/live/example.com');
    assert.equal(p.webroot, '/home/ubuntu/ss-data/letsencrypt/_webroot');
  });

  test('operation targets: deployment, or host:port and the site', () => {
    assert.deepEqual(certOperationTarget({ kind: 'deployment', remote: 'home', deployment: 'public' }), {
      remote: 'home',
      deployment: 'public',
    });
    const host = { ssh: { host: '10.0.0.5', port: 22, user: 'root' }, dataPath: '/d' };
    assert.deepEqual(certOperationTarget({ kind: 'host', host, domains: ['example.com'] }), {
      remote: '10.0.0.5:22',
      site: 'example.com',
    });
    assert.deepEqual(
      certOperationTarget({
        kind: 'host',
        host: { ...host, ssh: { ...host.ssh, host: '::1' } },
        domains: ['a.org', 'b.org'],
      }),
      { remote: '[::1]:22' },
    );
  });
});

describe('certbot command line', () => {
  test('webroot through the running proxy, ECDSA, --expand, contact info@domain, never --standalone', () => {
    const argv = certbotArgv({ site, dataPath: '/d', challenge: { kind: 'webroot' }, forceRenewal: false });
    const s = argv.join(' ');
    assert.match(
      s,
      /^certbot certonly --non-interactive --agree-tos --no-eff-email --email info@example\.com --server https:\/\/acme-staging/,
    );
    assert.match(s, /--key-type ecdsa/);
    assert.match(
      s,
      /--cert-name example\.com --expand --webroot --webroot-path \/d\/letsencrypt\/_webroot -d example\.com -d www\.example\.com -d btcpay\.example\.com$/,
    );
    assert.ok(!argv.includes('--standalone') && !argv.includes('--force-renewal'));
  });

  test('standalone only on the validation port, a CA bundle through the environment, sudo for non-root', () => {
    const argv = certbotArgv({
      site: { ...site, acmeCaBundle: '/here/ca.pem' },
      dataPath: '/d',
      challenge: { kind: 'standalone', port: 80 },
      forceRenewal: true,
      caBundleOnHost: '/etc/ca.pem',
    });
    assert.deepEqual(argv.slice(0, 3), ['env', 'REQUESTS_CA_BUNDLE=/etc/ca.pem', 'certbot']);
    assert.ok(argv.join(' ').includes('--force-renewal --standalone --preferred-challenges http-01 --http-01-port 80'));
    assert.deepEqual(asRoot('ubuntu', ['certbot']), ['sudo', '-n', 'certbot']);
    assert.deepEqual(asRoot('root', ['certbot']), ['certbot']);
  });
});

describe("reading certbot's failures", () => {
  // Verbatim from certbot 2.1 against pebble (a name pointed at a closed port).
  const validation = `Requesting a certificate for bad.example.test

Certbot failed to authenticate some domains (authenticator: webroot). The Certificate Authority reported these problems:
  Domain: bad.example.test
  Type:   connection
  Detail: Get "http://bad.example.test:15002/.well-known/acme-challenge/efW_Rf": dial tcp 127.0.0.2:15002: connect: connection refused

Hint: The Certificate Authority failed to download the temporary challenge files created by Certbot.
Some challenges have failed.`;

  test('a failed validation is final and names the domain and the reason', () => {
    assert.deepEqual(parseAcmeProblems(validation), [
      {
        domain: 'bad.example.test',
        type: 'connection',
        detail:
          'Get "http://bad.example.test:15002/.well-known/acme-challenge/efW_Rf": dial tcp 127.0.0.2:15002: connect: connection refused',
      },
    ]);
    const f = classifyCertbotFailure('bad.example.test', 'https://127.0.0.1:14000/dir', validation, '');
    assert.equal(f.type, FailureType.AcmeValidation);
    assert.equal(f.retryable, false);
    assert.match(f.message, /bad\.example\.test \(connection\): .*connection refused/);
  });

  test('rate limits are final; the real error is found in the log when certbot hides it', () => {
    const log = `2026-11-22 acme.messages.Error: urn:ietf:params:acme:error:rateLimited :: too many certificates (5) already issued for this exact set of domains in the last 168 hours`;
    const f = classifyCertbotFailure(
      'example.com',
      LETS_ENCRYPT.production,
      "An unexpected error occurred:\nAttributeError: can't set attribute",
      log,
    );
    assert.equal(f.type, FailureType.AcmeRateLimited);
    assert.equal(f.retryable, false);
    assert.match(f.message, /example\.com: too many certificates \(5\)/);
  });

  test('an unreachable CA is retried; a refused name is final; unknown failures are final with the last lines', () => {
    const down = classifyCertbotFailure(
      'example.com',
      site.acmeServer,
      'An unexpected error occurred:\nValueError: Requesting 127.0.0.1/dir: Connection refused',
      '',
    );
    assert.equal(down.type, FailureType.AcmeUnreachable);
    assert.equal(down.retryable, true);
    const refused = classifyCertbotFailure(
      'example.com',
      site.acmeServer,
      'Error creating new order :: urn:ietf:params:acme:error:rejectedIdentifier :: Invalid identifiers requested',
      '',
    );
    assert.equal(refused.type, FailureType.AcmeRejected);
    assert.equal(refused.retryable, false);
    const other = classifyCertbotFailure(
      'example.com',
      site.acmeServer,
      'something odd\nSaving debug log to /x\nvery odd',
      '',
    );
    assert.equal(other.retryable, false);
    assert.match(other.message, /something odd\nvery odd$/);
  });
});

describe('renewal decision', () => {
  const pemDir = tempSsRoot('ssw-pem-');
  const pem = path.join(pemDir, 'cert.pem');
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
      '-days',
      '20',
      '-subj',
      '/CN=example.com',
      '-addext',
      'subjectAltName=DNS:example.com,DNS:www.example.com',
      '-keyout',
      path.join(pemDir, 'key.pem'),
      '-out',
      pem,
    ],
    { stdio: 'ignore' },
  );
  const info = parseCertificate(fs.readFileSync(pem, 'utf8'));
  const now = new Date();

  test('a PEM is read for names, issuer, serial and validity', () => {
    assert.deepEqual(info.names, ['example.com', 'www.example.com']);
    assert.equal(info.issuer, 'CN=example.com');
    assert.match(info.serial, /^[0-9A-F]+$/);
    assert.ok(Date.parse(info.notAfter) > now.getTime());
  });

  test('missing, changed names, expiring within 30 days, or forced: renew; otherwise keep', () => {
    assert.equal(renewalDecision(null, ['example.com'], now).reason, 'missing');
    const changed = renewalDecision(info, ['example.com', 'www.example.com', 'btcpay.example.com'], now);
    assert.equal(changed.reason, 'names-changed');
    assert.match(changed.detail, /adds btcpay\.example\.com/);
    assert.equal(renewalDecision(info, ['example.com'], now).reason, 'names-changed', 'a dropped app drops its name');
    assert.equal(
      renewalDecision(info, ['www.example.com', 'example.com'], now).reason,
      'expiring',
      'expires in 20 days',
    );
    const keep = renewalDecision(info, ['example.com', 'www.example.com'], now, { withinDays: 10 });
    assert.equal(keep.renew, false);
    assert.equal(
      renewalDecision(info, ['example.com', 'www.example.com'], now, { withinDays: 10, force: true }).reason,
      'forced',
    );
  });
});

describe('sealed certificate backups', () => {
  const k1 = newPayloadKey();
  const k2 = newPayloadKey();
  const ring = (current: typeof k1, ...others: Array<typeof k1>): Keyring => ({
    current,
    all: new Map([current, ...others].map((k) => [k.id, k])),
  });

  test('round trip, readable header, still opens after a key rotation', () => {
    const secret = Buffer.from('-----BEGIN PRIVATE KEY-----\nnot really\n');
    const file = seal(ring(k1), 'cert-backup', secret, { domain: 'example.com', serial: 'AB' });
    assert.ok(!file.includes(secret), 'the plaintext is not in the file');
    assert.equal(sealedHeader(file).domain, 'example.com');
    assert.deepEqual(unseal(ring(k2, k1), 'cert-backup', file).plaintext, secret);
  });

  test('a changed byte, another purpose or a missing key is refused', () => {
    const file = seal(ring(k1), 'cert-backup', Buffer.from('data'), { domain: 'example.com' });
    const tampered = Buffer.from(file);
    tampered[tampered.length - 20]! ^= 1;
    assert.throws(() => unseal(ring(k1), 'cert-backup', tampered));
    const header = Buffer.from(file);
    header[20]! ^= 1; // inside the authenticated header
    assert.throws(() => unseal(ring(k1), 'cert-backup', header));
    assert.throws(() => unseal(ring(k1), 'other', file), /sealed for cert-backup/);
    assert.throws(() => unseal(ring(k2), 'cert-backup', file), /not in this machine's payload\.key/);
  });
});

describe('schedules', () => {
  const target = { kind: 'deployment' as const, remote: 'home', deployment: 'public' };

  test('daily renewal per deployment, at a stable night-time slot unless --at is given', () => {
    const def = certRenewSchedule(target);
    assert.equal(def.scheduleId, 'cert-renew/home/public');
    assert.equal(def.workflowType, 'renewCertificates');
    assert.deepEqual(def.at, defaultTimeFor('cert-renew/home/public'));
    assert.ok(def.at.hour >= 2 && def.at.hour <= 4);
    assert.equal(def.jitterMinutes, 60);
    assert.equal(def.catchupWindowMs, 86_400_000);
    assert.deepEqual(certRenewSchedule(target, { at: parseTimeOfDay('23:05') }).at, { hour: 23, minute: 5 });
    assert.throws(() => parseTimeOfDay('25:00'), /HH:MM/);
  });

  test("renewal ports are in the input only when given, so a run falls back to the deployment's proxy ports", () => {
    const input = certRenewSchedule(target).input as Record<string, unknown>;
    assert.ok(!('httpPort' in input) && !('httpsPort' in input), JSON.stringify(input));
    assert.deepEqual(certRenewSchedule(target, { httpPort: 8080, httpsPort: 8443 }).input, {
      target,
      httpPort: 8080,
      httpsPort: 8443,
    });
  });

  test('the definition digest changes with what the schedule does, not with how it was asked', () => {
    const a = definitionDigest(certRenewSchedule(target));
    assert.equal(a, definitionDigest(certRenewSchedule(target)));
    assert.notEqual(a, definitionDigest(certRenewSchedule(target, { httpsPort: 8443 })));
    assert.notEqual(a, definitionDigest(certRenewSchedule(target, { jitterMinutes: 5 })));
  });
});

describe('tunnel addresses', () => {
  test('wildcard listeners are reached on loopback', () => {
    assert.deepEqual(connectAddress('0.0.0.0:80'), { host: '127.0.0.1', port: 80 });
    assert.deepEqual(connectAddress('*:80'), { host: '127.0.0.1', port: 80 });
    assert.deepEqual(connectAddress('[::]:443'), { host: '::1', port: 443 });
    assert.deepEqual(connectAddress('192.0.2.1:8080'), { host: '192.0.2.1', port: 8080 });
  });
});
