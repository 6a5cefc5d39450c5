import { addHarnessRemote, harnessCliArgs } from '../helpers/suite-args';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import type { LxdClient } from '../../activities/lxd/client';
import { SsPaths } from '../../common/paths';
import { LongRunning, ssw, sswAsync, startService, stopService } from '../helpers/cli';
import { apiPortFor, backendUnderTest, harness } from '../helpers/harness';
import { killWorkerDuring } from '../helpers/kill-worker';
import { harnessLxd, resetHarnessLxd } from '../helpers/lxd';
import { tempSsRoot, uniqueTaskQueue, withEncryptedClient } from '../helpers/temporal';
import {
  clearNames,
  httpsGet as httpsGetOf,
  onWww as onWwwOf,
  pebbleRoot as pebbleRootOf,
  pointNames,
  stackContainers,
  writeProjectConf,
  writeRemoteConf,
  writeSiteConf,
  wwwOf,
} from '../helpers/www-fixture';

// `ssw up` of a deployment's services through the real CLI and a real worker, on
// the harness's LXD (or Incus: SSW_TEST_BACKEND): a system container with nested Docker as the www instance,
// its images copied air-gapped from the harness Docker (Debian's nginx as the
// proxy, busybox stand-ins for Ghost and Gitea), its certificate from pebble
// validating http-01 against the instance itself. The www instance has a fixed
// address on the test bridge (WWW_SERVER_IPV4_ADDRESS: LXD's DHCP reserves it
// for its MAC), and pebble's DNS points the site's names at it.
const root = tempSsRoot('ssw-services-');
const paths = new SsPaths(root);
const taskQueue = uniqueTaskQueue('services');
const REMOTE = 'lab';
const DEPLOYMENT = 'svc';
const DOMAIN = 'svc.test';
const MAC = '00:16:3e:5c:00:01';
const backend = backendUnderTest();
// An address on the backend's test bridge (10.123.45.0/24 for LXD, 10.123.46.0/24 for Incus).
const ADDRESS = `${backend.testBridgeAddress.split('.').slice(0, 3).join('.')}.50`;
const NAMES = [DOMAIN, `www.${DOMAIN}`, `btcpay.${DOMAIN}`, `git.${DOMAIN}`];
const common = () => harnessCliArgs(root, taskQueue);
const target = ['--deployment', DEPLOYMENT, '--remote', REMOTE];
const SITE = (languages: string) => [`SITE_LANGUAGE_CODES=${languages}`, 'DEPLOY_GHOST=true', 'DEPLOY_GITEA=true'];

let worker: LongRunning;
let lxd: LxdClient;
let pebbleRoot = '';

function writeConfig(): void {
  writeRemoteConf(paths, REMOTE, [[DEPLOYMENT, 'regtest']]);
  writeProjectConf(paths, {
    deployment: DEPLOYMENT,
    primaryDomain: DOMAIN,
    mac: MAC,
    address: ADDRESS,
    cpuCount: 2,
    memoryMb: 2048,
    extra: ['WWW_SSDATA_DISK_SIZE_GB=2'],
  });
  writeSiteConf(paths, DOMAIN, SITE('en'));
}

const withTemporal = <T>(fn: (client: Client) => Promise<T>) => withEncryptedClient(paths.payloadKey, fn);

const www = () => wwwOf(paths, REMOTE, DEPLOYMENT);
const onWww = (argv: string[]) => onWwwOf(paths, REMOTE, DEPLOYMENT, argv);
/** Every ssw container on the www instance: name → container ID. */
const containers = () => stackContainers(paths, REMOTE, DEPLOYMENT);
/** HTTPS to the www instance's proxy by name, verified against pebble's root (as a browser trusting that CA would). */
const httpsGet = (host: string, urlPath: string) => httpsGetOf(ADDRESS, host, urlPath, pebbleRoot);

/** Every configured site name and language path over HTTPS: what a visitor sees. */
async function visit(languages: string[]): Promise<Record<string, string>> {
  const seen: Record<string, string> = {};
  for (const lang of languages) {
    const p = lang === languages[0] ? '/' : `/${lang}/`;
    const r = await httpsGet(`www.${DOMAIN}`, p);
    assert.equal(r.status, 200, `www ${p}: ${r.body}`);
    assert.match(r.issuer, /Pebble/i, 'a certificate issued by pebble');
    seen[`www${p}`] = r.body;
  }
  const git = await httpsGet(`git.${DOMAIN}`, '/');
  assert.equal(git.status, 200);
  assert.match(git.body, /ssw stand-in: gitea-/);
  seen.git = git.body;
  assert.equal((await httpsGet(DOMAIN, '/')).status, 301, 'the apex redirects to www');
  assert.equal((await httpsGet(`btcpay.${DOMAIN}`, '/')).status, 503, 'no btcpayserver instance in this deployment');
  return seen;
}

before(async () => {
  const h = harness();
  lxd = harnessLxd();
  await resetHarnessLxd(lxd, paths, [DEPLOYMENT]);
  await pointNames(NAMES, ADDRESS);
  pebbleRoot = await pebbleRootOf();
  // Air-gapped images come from this machine's Docker: the harness's.
  process.env.DOCKER_HOST = `unix://${h.docker.socket}`;
  worker = await startService(['worker', ...common()], /Worker polling/);
  const add = addHarnessRemote(REMOTE, apiPortFor(18446), common(), ['--backend', backend.backend]);
  assert.equal(add.status, 0, add.stderr);
  writeConfig();
});

after(async () => {
  if (worker) await stopService(worker);
  await resetHarnessLxd(lxd, paths, [DEPLOYMENT]);
  await clearNames(NAMES);
  lxd.close();
});

describe('ssw up: a www instance serving its sites over HTTPS', () => {
  let firstVisit: Record<string, string> = {};
  let ids: Record<string, string> = {};

  test('--plan from nothing lists every stack to create', () => {
    const r = ssw(['up', '--plan', ...target, ...common()]);
    assert.equal(r.status, 0, r.stderr);
    for (const stack of ['reverse-proxy', '-ghost-en', '-gitea-en'])
      assert.match(r.stdout, new RegExp(`\\+ create stack +\\S*${stack}`));
  });

  test('from nothing, the worker SIGKILLed in the stack phase: a new worker finishes; every site and language answers over HTTPS with a pebble certificate', async () => {
    const killed = await withTemporal((client) =>
      killWorkerDuring({
        args: ['up', ...target, ...common()],
        workflowId: `up/${REMOTE}/${DEPLOYMENT}`,
        client,
        at: (s) => s === 'Reverse proxy' || s === 'App stacks',
        worker,
        workerArgs: ['worker', ...common()],
        timeoutMs: 600_000,
      }),
    );
    worker = killed.worker;
    const killedAt = killed.killedAt;
    const r = await killed.result;
    assert.equal(r.status, 0, `killed at "${killedAt}"\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`certificate ${DOMAIN.replace('.', '\\.')}: renewed`));
    assert.match(r.stdout, /Serving svc\.test, www\.svc\.test/);

    firstVisit = await visit(['en']);
    ids = await containers();
    assert.equal(
      Object.keys(ids).length,
      5,
      `proxy, ghost and its db, gitea and its db: ${Object.keys(ids).join(', ')}`,
    );
    assert.ok(!Object.keys(ids).some((n) => n.includes('-next-')), 'no replacement left behind');
  });

  test('a second up changes nothing: no change planned, no container touched, the certificate kept', async () => {
    const plan = ssw(['up', '--plan', ...target, ...common()]);
    assert.match(plan.stdout, /No changes/);
    const r = await sswAsync(['up', ...target, ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /No changes: the deployment already matched the config/);
    assert.match(r.stdout, new RegExp(`certificate ${DOMAIN.replace('.', '\\.')}: kept`));
    assert.doesNotMatch(r.stdout, /^stack .*(created|replaced|reloaded|rejoined|removed)/m);
    assert.match(r.stdout, /^stack reverse-proxy: unchanged$/m);
    assert.deepEqual(await containers(), ids);
  });

  test("a new language: only that site's new Ghost stack is created; the proxy reloads in place; everything else untouched", async () => {
    writeSiteConf(paths, DOMAIN, SITE('en,es'));
    const plan = ssw(['up', '--plan', ...target, ...common()]);
    assert.match(plan.stdout, /\+ create stack +\S+-ghost-es/);
    assert.match(plan.stdout, /~ change stack +reverse-proxy +\(reverse-proxy: reloads its changed files\)/);
    const r = await sswAsync(['up', ...target, ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /stack reverse-proxy: reloaded reverse-proxy; rejoined reverse-proxy/);
    const now = await containers();
    for (const [name, id] of Object.entries(ids)) assert.equal(now[name], id, `${name} kept`);
    assert.deepEqual(
      Object.keys(now)
        .filter((n) => !ids[n])
        .sort(),
      Object.keys(now)
        .filter((n) => n.endsWith('-es'))
        .sort(),
    );
    assert.equal(Object.keys(now).length, 7);
    const seen = await visit(['en', 'es']);
    assert.equal(seen['www/'], firstVisit['www/']);
    assert.match(seen['www/es/']!, /url=https:\/\/www\.svc\.test\/es/);
    assert.match(r.stdout, /the apps were backed up/);
  });

  test('down backs the apps up to this machine, removes stacks and the instance, keeps the data', async () => {
    await onWww(['sh', '-c', 'echo kept-across-down > /home/ubuntu/ss-data/ssw-e2e-marker']);
    const r = await sswAsync(['down', ...target, ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Backed up the www apps/);
    assert.match(r.stdout, /Stopped and removed stacks .*reverse-proxy/);
    assert.match(r.stdout, /Kept volumes .*www-ss-data/);
    const archive = `${paths.siteDir(DOMAIN)}/backups/www/ghost`;
    assert.ok(
      fs.existsSync(archive) && fs.readdirSync(archive).some((f) => f.startsWith('duplicity-')),
      `duplicity archive in ${archive}`,
    );
    assert.equal((await lxd.withProject(DEPLOYMENT).listInstances()).length, 0);
  });

  test('up again: the same content served, the certificate kept from the data volume, the data still there', async () => {
    const r = await sswAsync(['up', ...target, ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`certificate ${DOMAIN.replace('.', '\\.')}: kept`));
    const seen = await visit(['en', 'es']);
    assert.equal(seen['www/'], firstVisit['www/']);
    assert.equal((await onWww(['cat', '/home/ubuntu/ss-data/ssw-e2e-marker'])).trim(), 'kept-across-down');
  });

  test("restore onto a www instance that lost its archives: they go back as the instance's user, and the data is restored", async () => {
    assert.equal(www().user, 'ubuntu', 'ssw reaches the instance as its own user, with sudo');
    // duplicity made these directories with sudo: root's, which SFTP as ubuntu cannot write into.
    const archiveDir = `/home/ubuntu/backups/www/ghost/${DOMAIN}`;
    assert.equal((await onWww(['stat', '-c', '%U', archiveDir])).trim(), 'root');
    await onWww(['sudo', '-n', 'sh', '-c', 'rm -f "$1"/duplicity-*', 'sh', archiveDir]);
    const r = await sswAsync(['restore', ...target, '--app', 'ghost', '--json', ...common()]);
    assert.equal(r.status, 0, r.stderr);
    const [ghost] = JSON.parse(r.stdout).result.apps;
    assert.ok(ghost.pushedBytes > 0, 'the archive went back to the instance');
    assert.equal(ghost.restoredTo, `/home/ubuntu/ss-data/ghost/${DOMAIN}`);
    // Byte-identical to this machine's copy, owned by root like duplicity's own files, no staging left.
    const local = `${paths.siteDir(DOMAIN)}/backups/www/ghost`;
    const names = fs.readdirSync(local).filter((n) => n.startsWith('duplicity-'));
    const onInstance = await onWww([
      'sudo',
      '-n',
      'sh',
      '-c',
      'cd "$1" && for f in duplicity-*; do echo "$(stat -c %U "$f") $(sha256sum "$f")"; done',
      'sh',
      archiveDir,
    ]);
    const sha = (f: string) =>
      crypto
        .createHash('sha256')
        .update(fs.readFileSync(`${local}/${f}`))
        .digest('hex');
    assert.deepEqual(onInstance.trim().split('\n').sort(), names.map((f) => `root ${sha(f)}  ${f}`).sort());
    assert.equal(
      (await onWww(['sh', '-c', `test -e ${archiveDir}.ssw-upload && echo left || echo gone`])).trim(),
      'gone',
    );
  });
});
