import { addHarnessRemote, harnessCliArgs } from '../helpers/suite-args';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LxdClient } from '../../activities/lxd/client';
import { chooseBridgeSubnet, deploymentNetworkName } from '../../common/deployment/desired';
import { SsPaths } from '../../common/paths';
import { appNames } from '../../common/stacks/apps';
import { LongRunning, ssw, sswAsync, startService, stopService } from '../helpers/cli';
import { harness } from '../helpers/harness';
import { harnessLxd, resetHarnessLxd } from '../helpers/lxd';
import { tempSsRoot, uniqueTaskQueue } from '../helpers/temporal';
import {
  clearNames,
  httpsGet,
  onWww,
  pebbleRoot,
  pointNames,
  stackContainers,
  writeProjectConf,
  writeRemoteConf,
  writeSiteConf,
  type WwwDeploymentSpec,
} from '../helpers/www-fixture';

// Multi-tenancy and multi-site through the real CLI and a real worker, on the harness's LXD: two deployments of one
// remote, as ss's DEPLOYMENT_STRING="(intranet|regtest),(public|mainnet)" has them, brought up at the same time.
// intranet serves three sites (PRIMARY_DOMAIN and two in OTHER_SITES_LIST), public-news one; each www instance is a
// system container with nested Docker at a fixed address on the test bridge, its certificates from pebble.
const root = tempSsRoot('ssw-multi-');
const paths = new SsPaths(root);
const taskQueue = uniqueTaskQueue('multi');
const REMOTE = 'lab';
const INTRANET: WwwDeploymentSpec = {
  deployment: 'intranet',
  primaryDomain: 'intra.test',
  otherSites: ['two.test', 'three.test'],
  mac: '00:16:3e:6d:00:01',
  address: '10.123.45.61',
  extra: ['WWW_SSDATA_DISK_SIZE_GB=2'],
};
// A name whose bridge subnet ssw first picks is intranet's too (chooseBridgeSubnet): two plans made at once pick the
// same /24, and the second bridge must move to a free one.
const PUBLIC: WwwDeploymentSpec = {
  deployment: 'public-news',
  primaryDomain: 'pub.test',
  mac: '00:16:3e:6d:00:02',
  address: '10.123.45.62',
};
const SPECS = [INTRANET, PUBLIC];
const DEPLOYMENTS = SPECS.map((s) => s.deployment);
const sitesOf = (s: WwwDeploymentSpec) => [s.primaryDomain, ...(s.otherSites ?? [])];
/** The names ss's generate_certs.sh puts on a site's certificate with no optional app: the site, www, btcpay. */
const certNames = (domain: string) => [domain, `btcpay.${domain}`, `www.${domain}`].sort();
const common = () => harnessCliArgs(root, taskQueue);
const target = (s: WwwDeploymentSpec) => ['--deployment', s.deployment, '--remote', REMOTE];
const ghost = (domain: string) => `/home/ubuntu/ss-data/ghost/${domain}/en/ghost`;

let worker: LongRunning;
let lxd: LxdClient;
let ca = '';

/** What a deployment's project holds, as the harness LXD sees it: instances with their creation time, volumes. */
async function projectState(deployment: string) {
  const p = lxd.withProject(deployment);
  if (!(await lxd.getProject(deployment))) return undefined;
  return {
    instances: (await p.listInstances()).map((i) => `${i.name}:${i.status}:${i.created_at}`).sort(),
    volumes: (await p.listStorageVolumes('ss-base')).map((v) => v.name).sort(),
  };
}

/** Every site of a deployment over HTTPS: its own stand-in Ghost, on a pebble certificate naming that site only. */
async function assertServes(s: WwwDeploymentSpec, sites = sitesOf(s)): Promise<void> {
  for (const domain of sites) {
    const r = await httpsGet(s.address, `www.${domain}`, '/', ca);
    assert.equal(r.status, 200, `${domain}: ${r.body}`);
    assert.match(r.issuer, /Pebble/i, `${domain}: a certificate issued by pebble`);
    assert.deepEqual(r.names, certNames(domain), `${domain}: its own certificate`);
    assert.equal((await httpsGet(s.address, `btcpay.${domain}`, '/', ca)).fingerprint, r.fingerprint, `${domain}: one`);
    assert.match(r.body, new RegExp(`ssw stand-in: ${appNames(domain).ghost('en').app} url=https://www\\.${domain}`));
    assert.equal((await httpsGet(s.address, domain, '/', ca)).status, 301, `${domain}: the apex redirects to www`);
  }
}

before(async () => {
  const h = harness();
  lxd = harnessLxd();
  await resetHarnessLxd(lxd, paths, DEPLOYMENTS);
  for (const s of SPECS) await pointNames(sitesOf(s).flatMap(certNames), s.address);
  ca = await pebbleRoot();
  // Air-gapped images come from this machine's Docker: the harness's.
  process.env.DOCKER_HOST = `unix://${h.docker.socket}`;
  worker = await startService(['worker', ...common()], /Worker polling/);
  const add = addHarnessRemote(REMOTE, 18448, common(), ['--backend', 'lxd']);
  assert.equal(add.status, 0, add.stderr);
  writeRemoteConf(paths, REMOTE, [
    ['intranet', 'regtest'],
    [PUBLIC.deployment, 'mainnet'],
  ]);
  for (const s of SPECS) {
    writeProjectConf(paths, s);
    for (const d of sitesOf(s)) writeSiteConf(paths, d);
  }
});

after(async () => {
  if (worker) await stopService(worker);
  await resetHarnessLxd(lxd, paths, DEPLOYMENTS);
  for (const s of SPECS) await clearNames(sitesOf(s).flatMap(certNames));
  lxd.close();
});

describe('two deployments on one remote, one of them with three sites', () => {
  let intranetIds: Record<string, string> = {};

  test('both brought up at once: each in its own project, network and volumes, serving its own sites over HTTPS', async () => {
    assert.equal(
      chooseBridgeSubnet(PUBLIC.deployment, []),
      chooseBridgeSubnet(INTRANET.deployment, []),
      'the same /24 first',
    );
    // mainnet's volume sizes (ss's project_env.sh): LXD's dir pool on the harness takes them (no quota to enforce).
    const plan = ssw(['up', '--plan', ...target(PUBLIC), ...common()]);
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(plan.stdout, /\+ create volume +www-docker +\(filesystem, 1000GB\)/);
    const [a, b] = await Promise.all(SPECS.map((s) => sswAsync(['up', ...target(s), ...common()])));
    assert.equal(a!.status, 0, `intranet:\n${a!.stdout}\n${a!.stderr}`);
    assert.equal(b!.status, 0, `public:\n${b!.stdout}\n${b!.stderr}`);
    assert.match(a!.stdout, /Serving .*www\.intra\.test.*www\.two\.test.*www\.three\.test/);
    assert.match(b!.stdout, /Serving .*www\.pub\.test/);
    assert.doesNotMatch(b!.stdout, /intra\.test|two\.test|three\.test/);

    const subnets: string[] = [];
    for (const s of SPECS) {
      const state = await projectState(s.deployment);
      assert.equal(state?.instances.length, 1, `${s.deployment}: its www instance only`);
      assert.match(state!.instances[0]!, /^www-[a-z-]+:Running:/);
      assert.deepEqual(state!.volumes, ['www-backup', 'www-docker', 'www-ss-data']);
      const net = await lxd.getNetwork(deploymentNetworkName(s.deployment, 'bridge'));
      assert.ok(net, `${s.deployment}: its own bridge`);
      assert.equal(net.config?.['user.ssw.deployment'], s.deployment);
      subnets.push(net.config?.['ipv4.address'] ?? '');
      const profile = await lxd.withProject(s.deployment).getProfile(state!.instances[0]!.split(':')[0]!);
      assert.equal(profile?.devices?.enp6s0?.network, deploymentNetworkName(s.deployment, 'bridge'));
    }
    assert.notEqual(subnets[0], subnets[1], `separate subnets: ${subnets.join(' ')}`);

    await assertServes(INTRANET);
    await assertServes(PUBLIC);
    // Each instance serves only its own deployment's sites.
    const foreign = await httpsGet(PUBLIC.address, 'www.two.test', '/', ca).catch((e: Error) => e);
    assert.ok(
      foreign instanceof Error || foreign.status !== 200 || !/two\.test/.test(foreign.body),
      'public does not serve intranet',
    );

    intranetIds = await stackContainers(paths, REMOTE, INTRANET.deployment);
    for (const d of sitesOf(INTRANET)) {
      const n = appNames(d).ghost('en');
      assert.ok(intranetIds[n.app] && intranetIds[n.db], `${d}: its own Ghost and database`);
    }
    assert.equal(
      Object.keys(intranetIds).length,
      7,
      `the proxy and a Ghost with its db per site: ${Object.keys(intranetIds)}`,
    );
    assert.equal(Object.keys(await stackContainers(paths, REMOTE, PUBLIC.deployment)).length, 3);
  });

  test("restore of one site's backup changes that site only", async () => {
    const mark = (d: string, text: string) =>
      onWww(paths, REMOTE, INTRANET.deployment, ['sudo', '-n', 'sh', '-c', `echo ${text} > ${ghost(d)}/marker`]);
    const read = async (d: string) =>
      (await onWww(paths, REMOTE, INTRANET.deployment, ['sudo', '-n', 'cat', `${ghost(d)}/marker`])).trim();
    for (const d of sitesOf(INTRANET)) await mark(d, `backed-up-${d}`);
    const backup = await sswAsync(['backup', ...target(INTRANET), '--app', 'ghost', ...common()]);
    assert.equal(backup.status, 0, backup.stderr);
    for (const d of sitesOf(INTRANET)) {
      assert.match(backup.stdout, new RegExp(`^${d.replace('.', '\\.')} ghost  full`, 'm'));
      assert.ok(fs.readdirSync(`${paths.siteDir(d)}/backups/www/ghost`).some((f) => f.startsWith('duplicity-')));
    }
    for (const d of sitesOf(INTRANET)) await mark(d, `changed-${d}`);

    const r = await sswAsync(['restore', ...target(INTRANET), '--domain', 'two.test', '--app', 'ghost', ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^two\.test ghost {2}restored to/m);
    assert.doesNotMatch(r.stdout, /intra\.test|three\.test/);
    assert.equal(await read('two.test'), 'backed-up-two.test');
    assert.equal(await read('intra.test'), 'changed-intra.test');
    assert.equal(await read('three.test'), 'changed-three.test');
    // The running app sees the restored data, not the copy kept aside: its stacks were stopped around the swap and
    // started again on the restored directory (new containers for two.test's Ghost only).
    const two = appNames('two.test').ghost('en');
    const seen = await onWww(paths, REMOTE, INTRANET.deployment, [
      'sudo',
      '-n',
      'docker',
      'exec',
      two.app,
      'cat',
      '/var/lib/ghost/content/marker',
    ]);
    assert.equal(seen.trim(), 'backed-up-two.test', "what two.test's running Ghost reads");
    const now = await stackContainers(paths, REMOTE, INTRANET.deployment);
    for (const name of [two.app, two.db]) assert.notEqual(now[name], intranetIds[name], `${name} was recreated`);
    const untouched = (ids: Record<string, string>) =>
      Object.fromEntries(Object.entries(ids).filter(([n]) => n !== two.app && n !== two.db));
    assert.deepEqual(untouched(now), untouched(intranetIds), 'every other container kept');
    intranetIds = now;
  });

  test("a site removed from OTHER_SITES_LIST: up removes only that site's stacks, the others' containers kept", async () => {
    writeProjectConf(paths, { ...INTRANET, otherSites: ['two.test'] });
    const gone = appNames('three.test').ghost('en');
    const plan = ssw(['up', '--plan', ...target(INTRANET), ...common()]);
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(plan.stdout, new RegExp(`- (remove|delete) stack +${gone.stack}`));
    const r = await sswAsync(['up', ...target(INTRANET), ...common()]);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const now = await stackContainers(paths, REMOTE, INTRANET.deployment);
    const expected = Object.fromEntries(
      Object.entries(intranetIds).filter(([name]) => name !== gone.app && name !== gone.db),
    );
    assert.deepEqual(now, expected, 'the other sites and the proxy: the same containers');
    await assertServes(INTRANET, ['intra.test', 'two.test']);
    const removed = await httpsGet(INTRANET.address, 'www.three.test', '/', ca).catch((e: Error) => e);
    assert.ok(
      removed instanceof Error || !removed.body.includes(gone.app),
      `three.test is no longer served: ${removed instanceof Error ? removed.message : removed.body}`,
    );
  });

  test('down --purge of one deployment leaves the other serving, its instance and volumes untouched', async () => {
    const before = await projectState(INTRANET.deployment);
    const r = ssw(['down', ...target(PUBLIC), '--purge', '--yes', ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Deleted volumes/);
    assert.match(r.stdout, /Deleted the LXD project public-news\./);
    assert.equal(await lxd.getProject(PUBLIC.deployment), undefined);
    assert.equal(await lxd.getNetwork(deploymentNetworkName(PUBLIC.deployment, 'bridge')), undefined);
    assert.deepEqual(await projectState(INTRANET.deployment), before);
    assert.ok(await lxd.getNetwork(deploymentNetworkName(INTRANET.deployment, 'bridge')), "intranet's bridge kept");
    await assertServes(INTRANET, ['intra.test', 'two.test']);
  });
});
