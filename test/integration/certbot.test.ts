import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCertBackupActivities } from '../../activities/cert-backup';
import { createCertbotActivities } from '../../activities/certbot';
import { createConfigActivities } from '../../activities/config';
import { createProxyActivities } from '../../activities/proxy';
import { FailureType } from '../../common/failure-types';
import { SsPaths } from '../../common/paths';
import type { WwwHost } from '../../common/hosts';
import { letsencryptPaths, type SiteCertPlan } from '../../common/tls/plan';
import { isFailure } from '../helpers/failures';
import { harness } from '../helpers/harness';
import { TestNginx } from '../helpers/nginx';
import { tempSsRoot } from '../helpers/temporal';
import { realClients } from '../../workers/clients';

// The certificate activities against the real thing: certbot on the harness SSH host,
// pebble validating http-01 through a real nginx, the management machine's files.
const env = new MockActivityEnvironment();
const run = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A): Promise<R> => env.run(fn, ...args);

const root = tempSsRoot('ssw-certbot-');
fs.chmodSync(root, 0o755); // nginx's workers (nobody) must reach the webroot below
const paths = new SsPaths(path.join(root, 'ss'));
const dataPath = path.join(root, 'data');
const DOMAIN = 'activity.test';
const host: WwwHost = {
  ssh: { host: '127.0.0.1', port: harness().ssh.port, user: 'root', privateKeyPath: harness().ssh.privateKeyPath },
  dataPath,
};
const site = (domain: string, extra: string[] = []): SiteCertPlan => ({
  domain,
  names: [domain, `www.${domain}`, `btcpay.${domain}`, ...extra],
  acmeServer: harness().acme.directory,
  acmeCaBundle: harness().acme.caBundle,
  contactEmail: `info@${domain}`,
});
const certbot = createCertbotActivities(realClients(paths));
const proxy = createProxyActivities(realClients(paths));
const backups = createCertBackupActivities({ paths, ...realClients(paths) });
const nginx = new TestNginx(dataPath, [DOMAIN, 'bad.test']);

/** Points a name at an address where nothing answers, through pebble's DNS. */
async function pointNameAt(name: string, address: string): Promise<void> {
  const res = await fetch(`${harness().acme.challtestsrvManagement}/add-a`, {
    method: 'POST',
    body: JSON.stringify({ host: `${name}.`, addresses: [address] }),
  });
  assert.equal(res.status, 200);
}

before(() => {
  fs.mkdirSync(paths.root, { recursive: true });
  fs.writeFileSync(paths.knownHosts, `${harness().ssh.hostKeyLine}\n`);
  fs.mkdirSync(dataPath, { recursive: true });
});
after(async () => {
  await nginx.stop();
  await fetch(`${harness().acme.challtestsrvManagement}/clear-a`, {
    method: 'POST',
    body: JSON.stringify({ host: 'bad.test.' }),
  });
});

describe('certbot activities', () => {
  test('certbot is there (installed from the OS packages when missing)', async () => {
    const { version } = await run(certbot.ensureCertbot, host.ssh);
    assert.match(version, /^certbot \d+\.\d+/);
  });

  test('with nothing on the HTTP port, certbot would answer the challenge itself', async () => {
    const { current, decision } = await run(certbot.checkCertificate, host, site(DOMAIN));
    assert.equal(current, null);
    assert.equal(decision.reason, 'missing');
    const prep = await run(certbot.prepareChallenge, host, site(DOMAIN), harness().acme.httpPort);
    assert.deepEqual(prep.challenge, { kind: 'standalone', port: harness().acme.httpPort });
  });

  test('a proxy that does not serve the webroot is a clear, final error before the CA is asked', async () => {
    nginx.writeConfig(false, false);
    fs.mkdirSync(path.dirname(nginx.confFile), { recursive: true });
    const { execFileSync } = await import('node:child_process');
    execFileSync('nginx', ['-c', nginx.confFile]);
    await assert.rejects(
      run(certbot.prepareChallenge, host, site(DOMAIN), harness().acme.httpPort),
      isFailure(
        FailureType.ChallengeNotServed,
        true,
        /activity\.test \(HTTP 200 but other content: not from the webroot\)/,
        /location \/\.well-known\/acme-challenge\/ \{ root .*_webroot; \}/,
      ),
    );
    const left = fs.readdirSync(path.join(letsencryptPaths(dataPath, DOMAIN).webroot, '.well-known/acme-challenge'));
    assert.deepEqual(left, [], 'the probe token is removed');
  });

  test('through the running nginx: webroot mode, a real multi-name certificate from pebble', async () => {
    nginx.writeConfig(false, true);
    nginx.reload();
    const prep = await run(certbot.prepareChallenge, host, site(DOMAIN), harness().acme.httpPort);
    assert.deepEqual(prep.challenge, { kind: 'webroot' });
    assert.deepEqual(prep.listeners, [`127.0.0.1:${harness().acme.httpPort}`]);
    const got = await run(certbot.obtainCertificate, host, site(DOMAIN), { replaces: null, challenge: prep.challenge });
    assert.equal(got.alreadyDone, false);
    assert.deepEqual(got.certificate.names.sort(), site(DOMAIN).names.sort());
    assert.match(got.certificate.issuer, /Pebble Intermediate CA/);
    const mode =
      fs.statSync(path.join(letsencryptPaths(dataPath, DOMAIN).configDir, 'archive', DOMAIN, 'privkey1.pem')).mode &
      0o777;
    assert.equal(mode & 0o077, 0, 'the private key is not readable by others');

    // A retry of the same step after the certificate was issued does not ask the CA again.
    const again = await run(certbot.obtainCertificate, host, site(DOMAIN), {
      replaces: null,
      challenge: prep.challenge,
    });
    assert.equal(again.alreadyDone, true);
    assert.equal(again.certificate.serial, got.certificate.serial);
    const check = await run(certbot.checkCertificate, host, site(DOMAIN));
    assert.equal(check.decision.renew, false);
    const listed = await run(certbot.listCertificates, host);
    assert.deepEqual(
      listed.map((l) => [l.domain, l.certificate.serial]),
      [[DOMAIN, got.certificate.serial]],
    );
  });

  test('a name the CA cannot validate is a final error naming it', async () => {
    await pointNameAt('bad.test', '127.0.0.2');
    await assert.rejects(
      run(certbot.obtainCertificate, host, site('bad.test'), { replaces: null, challenge: { kind: 'webroot' } }),
      isFailure(
        FailureType.AcmeValidation,
        true,
        /could not validate the certificate names of bad\.test: bad\.test \(connection\)/,
      ),
    );
  });

  test('an unreachable CA is retryable', async () => {
    const down = { ...site(DOMAIN), acmeServer: 'https://127.0.0.1:9/dir' };
    await assert.rejects(
      run(certbot.obtainCertificate, host, down, {
        replaces: (await run(certbot.checkCertificate, host, site(DOMAIN))).current!.serial,
        challenge: { kind: 'webroot' },
      }),
      isFailure(FailureType.AcmeUnreachable, false, /Could not talk to the ACME server 127\.0\.0\.1:9/),
    );
  });
});

describe('proxy activities', () => {
  test('a renewal is served after a graceful reload of the bare nginx master', async () => {
    nginx.writeConfig(true);
    nginx.reload();
    const { current } = await run(certbot.checkCertificate, host, site(DOMAIN));
    const renewed = await run(certbot.obtainCertificate, host, site(DOMAIN), {
      replaces: current!.serial,
      challenge: { kind: 'webroot' },
    });
    assert.notEqual(renewed.certificate.serial, current!.serial);
    const reload = await run(proxy.reloadProxy, host);
    assert.equal(reload.how, 'process');
    assert.equal(reload.detail, `process ${nginx.pid()}`);
    const served = await run(proxy.verifyServedCertificates, host, {
      httpsPort: 15443,
      expected: [{ domain: DOMAIN, fingerprint256: renewed.certificate.fingerprint256 }],
    });
    assert.deepEqual(served, { checked: [DOMAIN], listener: '127.0.0.1:15443' });
  });

  test('a broken nginx config is reported and the running proxy is left alone', async () => {
    const good = fs.readFileSync(nginx.confFile, 'utf8');
    fs.writeFileSync(nginx.confFile, good.replace('events {}', 'events {} this is not nginx;'));
    try {
      await assert.rejects(
        run(proxy.reloadProxy, host),
        isFailure(FailureType.CommandFailed, true, /rejects its configuration/),
      );
    } finally {
      fs.writeFileSync(nginx.confFile, good);
    }
    assert.ok(nginx.pid(), 'nginx still runs');
  });
});

describe('certificate backups on the management machine', () => {
  test('sealed, private, once per certificate, and restored without losing what was live', async () => {
    const { current } = await run(certbot.checkCertificate, host, site(DOMAIN));
    const b = await run(backups.backupCertificate, host, DOMAIN, current!);
    assert.equal(b.skipped, false);
    assert.equal(fs.statSync(b.file).mode & 0o777, 0o600);
    assert.ok(!fs.readFileSync(b.file).includes('PRIVATE KEY'));
    assert.equal((await run(backups.backupCertificate, host, DOMAIN, current!)).skipped, true);
    assert.equal((await run(backups.latestCertificateBackup, DOMAIN))?.serial, current!.serial);

    // The host loses its certificates; the backup brings them back, and certbot can go on renewing them.
    const { configDir, root: leRoot } = letsencryptPaths(dataPath, DOMAIN);
    fs.renameSync(configDir, `${configDir}.lost`);
    const restored = await run(backups.restoreCertificateBackup, host, b);
    assert.equal(restored.restored, current!.serial);
    assert.equal((await run(certbot.checkCertificate, host, site(DOMAIN))).current?.serial, current!.serial);
    assert.ok(fs.existsSync(path.join(configDir, 'renewal', `${DOMAIN}.conf`)));
    assert.ok(fs.existsSync(path.join(configDir, 'accounts')), 'the ACME account comes back too');

    // Restoring over an existing directory keeps it aside instead of deleting it.
    await run(backups.restoreCertificateBackup, host, b);
    assert.ok(fs.readdirSync(leRoot).some((n) => n.startsWith(`.replaced-${DOMAIN}-`)));
  });

  test('a backup sealed on another machine is refused, naming the file', async () => {
    const other = new SsPaths(tempSsRoot('ssw-certbot-other-'));
    fs.writeFileSync(other.knownHosts, `${harness().ssh.hostKeyLine}\n`);
    const latest = (await run(backups.latestCertificateBackup, DOMAIN))!;
    const foreign = createCertBackupActivities({ paths: other, ...realClients(other) });
    await assert.rejects(
      run(foreign.restoreCertificateBackup, host, latest),
      isFailure(FailureType.Secret, true, /Cannot open the certificate backup .*not in this machine's payload\.key/),
    );
  });
});

describe('config activity', () => {
  test("a site's plan comes from its site.conf; invalid config is final and names the key", async () => {
    const ss = new SsPaths(tempSsRoot('ssw-certplan-'));
    fs.mkdirSync(ss.siteDir('plan.test'), { recursive: true });
    const conf = [
      'DOMAIN_NAME=plan.test',
      'DEPLOY_GHOST=false',
      'DEPLOY_GITEA=true',
      'GITEA_MYSQL_PASSWORD=x1',
      'GITEA_MYSQL_ROOT_PASSWORD=x2',
      'BTCPAY_ALT_NAMES=tip',
      'ACME_SERVER=staging',
      'DUPLICITY_BACKUP_PASSPHRASE=pp',
    ];
    fs.writeFileSync(ss.siteConf('plan.test'), conf.join('\n') + '\n', { mode: 0o600 });
    const { planCertificates } = createConfigActivities({ paths: ss });
    const plan = await run(planCertificates, { kind: 'host', host, domains: ['plan.test'] });
    assert.deepEqual(plan.sites[0]!.names, [
      'plan.test',
      'www.plan.test',
      'btcpay.plan.test',
      'git.plan.test',
      'tip.plan.test',
    ]);
    assert.match(plan.sites[0]!.acmeServer, /acme-staging-v02/);
    assert.equal(plan.sites[0]!.contactEmail, 'info@plan.test');
    assert.ok(!JSON.stringify(plan).includes('x1'), 'no secret in the plan');

    fs.writeFileSync(
      ss.siteConf('plan.test'),
      conf.concat('ACME_SERVER=http://insecure.example/dir').join('\n') + '\n',
      { mode: 0o600 },
    );
    await assert.rejects(
      run(planCertificates, { kind: 'host', host, domains: ['plan.test'] }),
      isFailure(FailureType.Config, true, /ACME_SERVER/),
    );
    await assert.rejects(
      run(planCertificates, { kind: 'deployment', remote: 'home', deployment: 'public' }),
      isFailure(FailureType.Config, true, /remote\.conf|project\.conf/),
    );
  });
});
