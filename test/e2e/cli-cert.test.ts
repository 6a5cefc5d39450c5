import { harnessCliArgs } from '../helpers/suite-args';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Connection, Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { fingerprintSha256 } from '../../common/known-hosts';
import { encryptedDataConverter } from '../../common/codec/data-converter';
import { SsPaths } from '../../common/paths';
import { letsencryptPaths } from '../../common/tls/plan';
import { LongRunning, ssw, sswAsync, startService, stopService } from '../helpers/cli';
import { harness } from '../helpers/harness';
import { HTTPS_PORT, startProbeLoop, TestNginx, type ProbeStats } from '../helpers/nginx';
import { tempSsRoot, uniqueTaskQueue, waitFor } from '../helpers/temporal';

// `ssw cert ...` and `ssw schedule ...` through the real CLI and a real worker: the harness
// sshd is a single www host, an nginx on it serves the site the whole time, certbot on it
// gets real certificates from pebble (real http-01 validation through that nginx).
const root = tempSsRoot('ssw-cert-e2e-');
fs.chmodSync(root, 0o755); // nginx's workers must reach the webroot under it
const paths = new SsPaths(path.join(root, 'ss'));
const dataPath = path.join(root, 'data');
const DOMAIN = 'shop.test';
const PASSPHRASE = 'e2e-duplicity-passphrase-do-not-leak';
const taskQueue = uniqueTaskQueue('cert');
const common = () => harnessCliArgs(paths.root, taskQueue);
const hostKey = fingerprintSha256(
  Buffer.from(fs.readFileSync(harness().ssh.hostPublicKeyPath, 'utf8').trim().split(/\s+/)[1]!, 'base64'),
);
const hostArgs = (domain = DOMAIN) => [
  '--host',
  '127.0.0.1',
  '--ssh-port',
  String(harness().ssh.port),
  '--ssh-key',
  harness().ssh.privateKeyPath,
  '--domain',
  domain,
  '--data-path',
  dataPath,
];
const ports = ['--http-port', String(harness().acme.httpPort), '--https-port', String(HTTPS_PORT)];
const NO_STACK = /\n\s+at .+:\d+:\d+/;

const nginx = new TestNginx(dataPath, [DOMAIN, 'broken.test']);
let worker: LongRunning;
let tls = false;
let probe: { stop: () => Promise<ProbeStats> };
const serials: string[] = [];

function writeSite(domain: string): void {
  fs.mkdirSync(paths.siteDir(domain), { recursive: true });
  const conf = [
    `DOMAIN_NAME=${domain}`,
    'DEPLOY_NEXTCLOUD=true',
    'BTCPAY_ALT_NAMES=tip',
    `ACME_SERVER=${harness().acme.directory}`,
    `ACME_CA_BUNDLE=${harness().acme.caBundle}`,
    `DUPLICITY_BACKUP_PASSPHRASE=${PASSPHRASE}`,
    'GHOST_MYSQL_PASSWORD=ghost-e2e-pw',
    'GHOST_MYSQL_ROOT_PASSWORD=ghost-e2e-root-pw',
    'NEXTCLOUD_MYSQL_PASSWORD=nc-e2e-pw',
    'NEXTCLOUD_MYSQL_ROOT_PASSWORD=nc-e2e-root-pw',
  ];
  fs.writeFileSync(paths.siteConf(domain), conf.join('\n') + '\n', { mode: 0o600 });
}

async function renew(...extra: string[]) {
  const r = await sswAsync(['cert', 'renew', ...hostArgs(), ...ports, '--json', ...extra, ...common()]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).result;
}

async function status() {
  const r = await sswAsync(['cert', 'status', ...hostArgs(), '--json', ...common()]);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).result.sites[0];
}

/** The same www host as a deployment's www instance, its proxy on non-default ports (as ssw up records it). */
const LAB = { remote: 'lab', deployment: 'shop' };
function writeLabDeployment(): void {
  fs.mkdirSync(paths.remoteDir(LAB.remote), { recursive: true });
  fs.writeFileSync(paths.remoteConf(LAB.remote), `DEPLOYMENT_STRING="(${LAB.deployment}|regtest)"\n`);
  fs.mkdirSync(path.dirname(paths.projectConf(LAB.deployment)), { recursive: true });
  // Another nextcloud name than the host target's: the deployment's certificate needs renewing.
  fs.writeFileSync(
    paths.projectConf(LAB.deployment),
    [
      `PRIMARY_DOMAIN=${DOMAIN}`,
      'NEXTCLOUD_HOSTNAME=cloud',
      `PROXY_HTTP_PORT=${harness().acme.httpPort}`,
      `PROXY_HTTPS_PORT=${HTTPS_PORT}`,
      '',
    ].join('\n'),
  );
  const record = paths.instanceRecord(LAB.remote, LAB.deployment, 'www');
  fs.mkdirSync(path.dirname(record), { recursive: true });
  const h = harness().ssh;
  fs.writeFileSync(
    record,
    JSON.stringify({ ssh: { host: h.host, port: h.port, user: h.user, privateKeyPath: h.privateKeyPath }, dataPath }),
  );
}

const SCHEDULE_ID = `cert-renew/127.0.0.1:${harness().ssh.port}/${DOMAIN}`;

/** Removes this suite's schedule if an earlier, interrupted run left it on the shared server. */
async function deleteOwnSchedule(): Promise<void> {
  const connection = await Connection.connect({ address: harness().temporal.address });
  try {
    const ids = ['cert-renew', 'backup', 'backup-verify'].flatMap((kind) => [
      ...[DOMAIN, 'broken.test'].map((d) => `${kind}/127.0.0.1:${harness().ssh.port}/${d}`),
      `${kind}/${LAB.remote}/${LAB.deployment}`,
    ]);
    for (const scheduleId of ids) {
      await connection.workflowService
        .deleteSchedule({ namespace: harness().temporal.namespace, scheduleId })
        .catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
}

before(async () => {
  await deleteOwnSchedule();
  fs.mkdirSync(dataPath, { recursive: true });
  writeSite(DOMAIN);
  writeSite('broken.test');
  nginx.start();
  worker = await startService(['worker', ...common()], /Worker polling/);
  probe = startProbeLoop(DOMAIN, () => tls);
});

after(async () => {
  await deleteOwnSchedule();
  await probe.stop();
  await stopService(worker);
  await nginx.stop();
  await fetch(`${harness().acme.challtestsrvManagement}/clear-a`, {
    method: 'POST',
    body: JSON.stringify({ host: 'broken.test.' }),
  });
});

describe('ssw cert', () => {
  test('bad input is refused before anything starts, with one clear paragraph', () => {
    const badDomain = ssw(['cert', 'renew', '--host', '127.0.0.1', '--domain', 'Shop_Test', ...common()]);
    assert.equal(badDomain.status, 2);
    assert.match(badDomain.stderr, /--domain "shop_test" is not a domain name/);
    assert.doesNotMatch(badDomain.stderr, NO_STACK);
    const unpinned = ssw(['cert', 'renew', ...hostArgs(), ...common()]);
    assert.equal(unpinned.status, 2);
    assert.match(unpinned.stderr, /not pinned .* run the command again with --pin-host-key SHA256:/);
    const noSite = ssw(['cert', 'renew', ...hostArgs('nosite.test'), '--pin-host-key', hostKey, ...common()]);
    assert.equal(noSite.status, 1, 'a stub site.conf was written: edit it first, as ss-up says');
    assert.match(noSite.stderr, /nosite\.test\/site\.conf/);
    assert.ok(
      !fs.existsSync(paths.knownHosts) || !fs.readFileSync(paths.knownHosts, 'utf8').includes('[127.0.0.1]:'),
      'a run refused before it starts pins nothing',
    );
    const neither = ssw(['cert', 'status', ...common()]);
    assert.equal(neither.status, 2);
    assert.match(neither.stderr, /--deployment D .* or --host H --domain D/);
  });

  test('issues a multi-name certificate through the running nginx without one failed request', async () => {
    // The key the operator verified is pinned by the first run that starts (the refused runs above pinned nothing).
    const r = await renew('--pin-host-key', hostKey);
    const site = r.sites[0];
    assert.equal(site.action, 'renewed');
    assert.equal(site.reason, 'missing');
    assert.equal(site.challenge, 'webroot');
    assert.deepEqual(site.names.sort(), [
      'btcpay.shop.test',
      'nextcloud.shop.test',
      'shop.test',
      'tip.shop.test',
      'www.shop.test',
    ]);
    assert.equal(r.reload.how, 'process');
    assert.ok(fs.existsSync(site.backupFile));
    serials.push(site.serial);

    // The operator turns on HTTPS with it (a graceful reload too), while the probes go on.
    nginx.writeConfig(true);
    nginx.reload();
    tls = true;
    const s = await status();
    assert.equal(s.serial, site.serial);
    assert.match(s.issuer, /Pebble Intermediate CA/);
    assert.ok(s.daysLeft > 30);
    assert.deepEqual(s.missingNames, []);
  });

  test('a second run keeps the valid certificate and does not ask the CA', async () => {
    const r = await renew();
    assert.equal(r.sites[0].action, 'kept');
    assert.equal(r.sites[0].serial, serials[0]);
    assert.equal(r.reload, undefined, 'nothing changed, nothing reloaded');
  });

  test('--force renews, reloads nginx, and the new certificate is what it serves', async () => {
    const r = await renew('--force');
    assert.equal(r.sites[0].action, 'renewed');
    assert.equal(r.sites[0].reason, 'forced');
    assert.notEqual(r.sites[0].serial, serials[0]);
    assert.equal(r.reload.how, 'process');
    assert.deepEqual(r.verified, [DOMAIN]);
    serials.push(r.sites[0].serial);
    const s = await status();
    assert.equal(s.serial, serials[1]);
    assert.ok(Date.parse(s.notAfter) >= Date.parse(r.sites[0].notAfter) - 1000);
  });

  test('a name the CA cannot reach fails for good, naming the domain', async () => {
    await fetch(`${harness().acme.challtestsrvManagement}/add-a`, {
      method: 'POST',
      body: JSON.stringify({ host: 'broken.test.', addresses: ['127.0.0.2'] }),
    });
    const r = await sswAsync(['cert', 'renew', ...hostArgs('broken.test'), ...ports, ...common()]);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /could not validate the certificate names of broken\.test: broken\.test \(connection\).*\[SswAcmeValidation\]/s,
    );
    assert.doesNotMatch(r.stderr, NO_STACK);
  });

  test('restore puts the saved certificate back on a host that lost it', async () => {
    const { configDir } = letsencryptPaths(dataPath, DOMAIN);
    fs.renameSync(configDir, `${configDir}.lost`);
    const r = await sswAsync(['cert', 'restore', ...hostArgs(), '--json', ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).result.sites[0].action, 'restored');
    assert.equal((await status()).serial, serials[1]);
    const again = await sswAsync(['cert', 'restore', ...hostArgs(), '--json', ...common()]);
    assert.equal(JSON.parse(again.stdout).result.sites[0].action, 'kept');
  });

  test('no secret reaches the workflow history or the worker log', async () => {
    const connection = await Connection.connect({ address: harness().temporal.address });
    try {
      // No codec: what the server stores.
      const raw = new Client({ connection, namespace: harness().temporal.namespace });
      const history = await raw.workflow
        .getHandle(`cert-renew/127.0.0.1:${harness().ssh.port}/${DOMAIN}`)
        .fetchHistory();
      const bytes = Buffer.from(temporal.api.history.v1.History.encode(history).finish());
      for (const secret of [PASSPHRASE, 'nc-e2e-pw', 'PRIVATE KEY']) {
        assert.ok(!bytes.includes(secret), `history holds ${secret}`);
        assert.ok(!worker.output().includes(secret), `worker log holds ${secret}`);
      }
    } finally {
      await connection.close();
    }
  });
});

describe('ssw schedule', () => {
  const id = SCHEDULE_ID;

  test('install is idempotent, the schedule triggers a renewal run that completes', async () => {
    const first = await sswAsync([
      'schedule',
      'install',
      ...hostArgs(),
      ...ports,
      '--at',
      '03:30',
      '--json',
      ...common(),
    ]);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).schedules[0].outcome, 'created');
    // With the nightly backup and the weekly restore drill of the same target.
    assert.deepEqual(
      JSON.parse(first.stdout).schedules.map((x: { scheduleId: string }) => x.scheduleId.split('/')[0]),
      ['cert-renew', 'backup', 'backup-verify'],
    );
    const again = await sswAsync([
      'schedule',
      'install',
      ...hostArgs(),
      ...ports,
      '--at',
      '03:30',
      '--json',
      ...common(),
    ]);
    assert.equal(JSON.parse(again.stdout).schedules[0].outcome, 'unchanged');
    const moved = await sswAsync([
      'schedule',
      'install',
      ...hostArgs(),
      ...ports,
      '--at',
      '04:10',
      '--json',
      ...common(),
    ]);
    assert.deepEqual(
      JSON.parse(moved.stdout).schedules.map((x: { outcome: string }) => x.outcome),
      ['updated', 'unchanged', 'unchanged'],
    );

    const list = JSON.parse((await sswAsync(['schedule', 'list', '--json', ...common()])).stdout).schedules;
    const mine = list.find((s: { scheduleId: string }) => s.scheduleId === id);
    assert.ok(mine, JSON.stringify(list));
    assert.equal(mine.paused, false);
    assert.match(mine.note, /Daily certificate renewal for shop\.test/);

    const trig = await sswAsync(['schedule', 'trigger', id, '--json', ...common()]);
    assert.equal(trig.status, 0, trig.stderr);
    const out = JSON.parse(trig.stdout);
    assert.ok(out.workflowId.startsWith(`${id}-`), out.workflowId);
    assert.equal(out.result.sites[0].action, 'kept');
  });

  test('pause, unpause and delete', async () => {
    assert.equal((await sswAsync(['schedule', 'pause', id, ...common()])).status, 0);
    let list = JSON.parse((await sswAsync(['schedule', 'list', '--json', ...common()])).stdout).schedules;
    assert.equal(list.find((s: { scheduleId: string }) => s.scheduleId === id).paused, true);
    assert.equal((await sswAsync(['schedule', 'unpause', ...hostArgs(), ...common()])).status, 0);
    list = JSON.parse((await sswAsync(['schedule', 'list', '--json', ...common()])).stdout).schedules;
    assert.equal(list.find((s: { scheduleId: string }) => s.scheduleId === id).paused, false);
    assert.equal((await sswAsync(['schedule', 'delete', id, ...common()])).status, 0);
    const gone = await sswAsync(['schedule', 'pause', id, ...common()]);
    assert.equal(gone.status, 2);
    assert.match(gone.stderr, /No schedule cert-renew\//);
  });

  test('a scheduled run that fails pauses its schedule, saying why', async () => {
    // A config edit gone wrong: the next scheduled run fails at its first step, for good.
    const install = await sswAsync([
      'schedule',
      'install',
      ...hostArgs('broken.test'),
      ...ports,
      '--json',
      ...common(),
    ]);
    assert.equal(install.status, 0, install.stderr);
    const brokenId = JSON.parse(install.stdout).schedules[0].scheduleId;
    fs.appendFileSync(paths.siteConf('broken.test'), 'ACME_SERVER=http://ca.example/dir\n');
    try {
      // Triggered by hand, the failure is the operator's to read ...
      const trig = await sswAsync(['schedule', 'trigger', brokenId, ...common()]);
      assert.equal(trig.status, 1);
      assert.match(
        trig.stderr,
        /broken\.test\/site\.conf: ACME_SERVER: expected an https:\/\/ ACME directory URL.*read again by the next run.*\[SswConfigError\]/s,
      );
      assert.doesNotMatch(trig.stderr, /nothing was started/);
      // ... a run the schedule starts on its own pauses it. Make its next run due now (the
      // schedule's policies are what ssw set), and wait for the pause.
      const connection = await Connection.connect({ address: harness().temporal.address });
      try {
        const client = new Client({
          connection,
          namespace: harness().temporal.namespace,
          dataConverter: encryptedDataConverter(paths.payloadKey),
        });
        await client.schedule
          .getHandle(brokenId)
          .update((prev) => ({ ...prev, spec: { intervals: [{ every: '2s' }] } }));
      } finally {
        await connection.close();
      }
      const broken = await waitFor('the schedule to pause', async () => {
        const list = JSON.parse((await sswAsync(['schedule', 'list', '--json', ...common()])).stdout).schedules;
        const s = list.find((x: { scheduleId: string }) => x.scheduleId === brokenId);
        return s?.paused ? s : undefined;
      });
      assert.match(broken.note, /paused due to workflow failure: cert-renew\/127\.0\.0\.1:\d+\/broken\.test-/);
    } finally {
      await sswAsync(['schedule', 'delete', brokenId, ...common()]);
    }
  });

  test("a schedule installed without port flags renews on the deployment's PROXY_HTTP_PORT/PROXY_HTTPS_PORT", async () => {
    writeLabDeployment();
    const target = ['--deployment', LAB.deployment, '--remote', LAB.remote];
    const install = await sswAsync(['schedule', 'install', ...target, '--json', ...common()]);
    assert.equal(install.status, 0, install.stderr);
    const labId = JSON.parse(install.stdout).schedules[0].scheduleId;
    assert.equal(labId, `cert-renew/${LAB.remote}/${LAB.deployment}`);
    try {
      const connection = await Connection.connect({ address: harness().temporal.address });
      try {
        const client = new Client({
          connection,
          namespace: harness().temporal.namespace,
          dataConverter: encryptedDataConverter(paths.payloadKey),
        });
        const { action } = await client.schedule.getHandle(labId).describe();
        const input = (action as { args?: Array<Record<string, unknown>> }).args?.[0] ?? {};
        assert.ok(
          !('httpPort' in input) && !('httpsPort' in input),
          `no ports in the schedule's input: ${JSON.stringify(input)}`,
        );
      } finally {
        await connection.close();
      }
      const trig = await sswAsync(['schedule', 'trigger', labId, '--json', ...common()]);
      assert.equal(trig.status, 0, trig.stderr);
      const { result } = JSON.parse(trig.stdout);
      assert.equal(result.sites[0].action, 'renewed', JSON.stringify(result.sites[0]));
      assert.equal(result.sites[0].reason, 'names-changed');
      assert.equal(result.sites[0].challenge, 'webroot', 'answered by the running proxy on PROXY_HTTP_PORT');
      assert.deepEqual(result.verified, [DOMAIN], 'the new certificate was seen served on PROXY_HTTPS_PORT');
      assert.ok(result.sites[0].names.includes(`cloud.${DOMAIN}`));
      serials.push(result.sites[0].serial);
    } finally {
      for (const kind of ['cert-renew', 'backup', 'backup-verify'])
        await sswAsync(['schedule', 'delete', `${kind}/${LAB.remote}/${LAB.deployment}`, ...common()]);
    }
  });

  test('the site answered every request throughout', async () => {
    const stats = await probe.stop();
    probe = { stop: async () => stats };
    // Measured here, reported in the README: failed requests while certificates were issued and nginx reloaded.
    console.log(
      `probe: ${stats.ok} requests answered, ${stats.failed} failed; certificates seen over HTTPS: ${stats.serials.join(', ')}`,
    );
    assert.equal(stats.failed, 0, stats.errors.join('\n'));
    assert.ok(stats.ok > 100, `the probe ran (${stats.ok} requests)`);
    assert.ok(stats.serials.includes(serials[1]!), 'the renewed certificate was served');
  });
});
