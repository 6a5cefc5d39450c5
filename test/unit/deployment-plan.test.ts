import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import {
  bridgeConfigToCreate,
  chooseBridgeSubnet,
  deploymentNetworkName,
  desiredDeployment,
  weeklyImageAlias,
  type RemoteFacts,
} from '../../common/deployment/desired';
import { formatPlan, parseLxdSize, planDeployment, type CurrentDeployment } from '../../common/deployment/plan';
import { appliedState, deploymentConfig as config } from '../fixtures/deployment';

/** Desired state, profiles with their cloud-init, and plans: pure functions, no remote. */

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAbcdefghijklmnopqrstuvwxyz0123456789ABCDEFG operator@mgmt';

const facts: RemoteFacts = {
  dataPlaneInterface: 'eno1',
  hasOvn: false,
  cloudInitKeys: 'cloud-init',
  bridgeSubnet: '10.151.7.1/24',
  sshPublicKey: KEY,
};
const NOW = new Date('2026-11-22T12:00:00Z');

function emptyCurrent(): CurrentDeployment {
  return { profiles: {}, volumes: {}, instances: {} };
}

describe('desired deployment', () => {
  test('names follow ss: instance and profile www-example-com, volumes <role>-docker/-ss-data/-backup, a bridge per deployment', () => {
    const d = desiredDeployment(config(), facts, { now: NOW });
    assert.deepEqual(
      d.instances.map((i) => i.name),
      ['www-example-com', 'btcpayserver-example-com'],
    );
    assert.deepEqual(
      d.instances[0]!.volumes.map((v) => [v.name, v.contentType, v.sizeGb, v.path]),
      [
        ['www-docker', 'block', 30, undefined],
        ['www-ss-data', 'filesystem', 20, '/home/ubuntu/ss-data'],
        ['www-backup', 'filesystem', 50, '/home/ubuntu/backups'],
      ],
    );
    assert.equal(d.network.name, 'ss-public');
    assert.equal(d.network.type, 'bridge');
    assert.equal(d.network.project, 'default');
    assert.equal(d.network.config['ipv4.address'], '10.151.7.1/24');
    assert.equal(d.network.config['ipv4.nat'], 'false');
    assert.equal(d.baseImage.alias, 'ss-docker-2026-w47');
    assert.equal(d.baseImage.source, 'images:ubuntu/jammy/cloud');
    assert.equal(d.project.config['features.images'], 'false', 'one base image per remote, shared by deployments');
    assert.equal(d.project.config['features.storage.volumes'], 'true', "ss's volume names repeat in every deployment");
  });

  test('OVN when the remote has it, as ss (ss-ovn in the project, uplink lxdbr1)', () => {
    const d = desiredDeployment(config(), { ...facts, hasOvn: true }, { now: NOW });
    assert.deepEqual(
      { name: d.network.name, type: d.network.type, project: d.network.project, uplink: d.network.config.network },
      { name: 'ss-ovn', type: 'ovn', project: 'public', uplink: 'lxdbr1' },
    );
  });

  test('instances without a MAC are not deployed; --skip-* leaves a configured one out and says so', () => {
    const d = desiredDeployment(
      config({ btcpayserver: { cpuCount: 2, memoryMb: 2048, disksGb: { ssdata: 1, backup: 1, docker: 1 } } }),
      facts,
      { now: NOW },
    );
    assert.deepEqual(
      d.instances.map((i) => i.role),
      ['www'],
    );
    const s = desiredDeployment(config(), facts, { now: NOW, skip: { www: true } });
    assert.deepEqual(
      s.instances.map((i) => i.role),
      ['btcpayserver'],
    );
    assert.deepEqual(s.skipped, ['www']);
  });

  test('weekly base image names follow ISO weeks (year boundaries included)', () => {
    assert.equal(weeklyImageAlias(new Date('2026-01-01T00:00:00Z')), 'ss-docker-2026-w01');
    assert.equal(weeklyImageAlias(new Date('2027-01-01T00:00:00Z')), 'ss-docker-2026-w53');
    assert.equal(weeklyImageAlias(new Date('2024-12-30T00:00:00Z')), 'ss-docker-2025-w01');
  });

  test('bridge names fit a Linux interface (15 chars); subnets avoid ones in use', () => {
    assert.equal(deploymentNetworkName('public', 'bridge'), 'ss-public');
    const long = deploymentNetworkName('a-very-long-deployment', 'bridge');
    assert.ok(long.length <= 15 && long.startsWith('ss-a-very'), long);
    const first = chooseBridgeSubnet('public', []);
    const second = chooseBridgeSubnet('public', [first]);
    assert.notEqual(first, second);
    assert.match(second, /^10\.151\.\d+\.1\/24$/);
  });

  test("a bridge is created on its planned subnet, or on a free one when another deployment's took it since", () => {
    const planned = chooseBridgeSubnet('public', []);
    const network = {
      name: 'ss-public',
      type: 'bridge' as const,
      project: 'default',
      config: { 'ipv4.address': planned, 'ipv4.nat': 'false', 'user.ssw.deployment': 'public' },
    };
    assert.deepEqual(
      bridgeConfigToCreate(network, [{ name: 'lxdbr0', config: { 'ipv4.address': '10.0.3.1/24' } }]),
      network.config,
    );
    // Another deployment planned at the same time chose the same free /24 and created its bridge first.
    const taken = [{ name: 'ss-intranet', config: { 'ipv4.address': planned } }];
    const config = bridgeConfigToCreate(network, taken);
    assert.notEqual(config['ipv4.address'], planned);
    assert.match(config['ipv4.address']!, /^10\.151\.\d+\.1\/24$/);
    assert.deepEqual({ ...config, 'ipv4.address': planned }, network.config, 'only the subnet differs');
    // A retry that finds its own bridge's subnet listed keeps it.
    assert.deepEqual(
      bridgeConfigToCreate(network, [{ name: 'ss-public', config: { 'ipv4.address': planned } }]),
      network.config,
    );
  });
});

describe('profiles and cloud-init', () => {
  test('a VM: limits, macvlan on the data-plane interface with the pinned MAC, internal NIC, config drive, block docker disk formatted by cloud-init', () => {
    const www = desiredDeployment(config(), facts, { now: NOW }).instances[0]!;
    const p = www.profile;
    assert.equal(p.config['limits.cpu'], '4');
    assert.equal(p.config['limits.memory'], '4096MB');
    assert.deepEqual(p.devices.enp5s0, {
      type: 'nic',
      nictype: 'macvlan',
      parent: 'eno1',
      hwaddr: '00:16:3e:aa:bb:01',
    });
    assert.deepEqual(p.devices.enp6s0, { type: 'nic', network: 'ss-public' });
    assert.deepEqual(p.devices.config, { type: 'disk', source: 'cloud-init:config' });
    assert.deepEqual(p.devices.docker, { type: 'disk', pool: 'ss-base', source: 'www-docker' });
    assert.deepEqual(p.devices['ss-data'], {
      type: 'disk',
      pool: 'ss-base',
      source: 'www-ss-data',
      path: '/home/ubuntu/ss-data',
    });
    assert.ok(!('security.nesting' in p.config));

    const vendor = p.config['cloud-init.vendor-data']!;
    assert.ok(vendor.startsWith('#cloud-config\n'));
    const doc = parse(vendor);
    assert.equal(doc.fqdn, 'www.example.com');
    assert.deepEqual(doc.users[0].ssh_authorized_keys, [KEY]);
    assert.equal(doc.users[0].name, 'ubuntu');
    assert.deepEqual(doc.mounts, [['sdb', '/var/lib/docker']]);
    const net = parse(p.config['cloud-init.network-config']!);
    assert.deepEqual(net.ethernets.enp5s0.match, { macaddress: '00:16:3e:aa:bb:01' });
    assert.equal(
      net.ethernets.enp6s0['dhcp4-overrides']['use-routes'],
      false,
      'no default route through the internal network',
    );
  });

  test('a container: nesting for Docker, NICs named inside, docker volume as a directory, no config drive; a named bridge instead of macvlan', () => {
    const c = config({ instanceType: 'container' }, { dataPlaneNetwork: 'sswtestbr0' });
    const www = desiredDeployment(c, { ...facts, cloudInitKeys: 'user' }, { now: NOW }).instances[0]!;
    const p = www.profile;
    assert.equal(p.config['security.nesting'], 'true');
    assert.deepEqual(p.devices.enp5s0, {
      type: 'nic',
      network: 'sswtestbr0',
      hwaddr: '00:16:3e:aa:bb:01',
      name: 'enp5s0',
    });
    assert.equal(p.devices.enp6s0!.name, 'enp6s0');
    assert.equal(p.devices.config, undefined);
    assert.deepEqual(p.devices.docker, {
      type: 'disk',
      pool: 'ss-base',
      source: 'www-docker',
      path: '/var/lib/docker',
    });
    assert.ok('user.vendor-data' in p.config && !('cloud-init.vendor-data' in p.config), 'LXD 5.0 reads user.* keys');
    assert.equal(parse(p.config['user.vendor-data']!).mounts, undefined);
    // A fixed address on the bridge: LXD's DHCP reserves it for the MAC.
    const fixed = config(
      { instanceType: 'container', www: { ...c.project.www, ipv4Address: '10.123.45.50' } },
      { dataPlaneNetwork: 'sswtestbr0' },
    );
    assert.equal(
      desiredDeployment(fixed, facts, { now: NOW }).instances[0]!.profile.devices.enp5s0!['ipv4.address'],
      '10.123.45.50',
    );
  });

  test('the key is YAML-quoted, so a comment with YAML syntax cannot change the document', () => {
    const evil = 'ssh-ed25519 AAAAC3 me@x\nruncmd: [reboot]';
    const www = desiredDeployment(config(), { ...facts, sshPublicKey: evil }, { now: NOW }).instances[0]!;
    const doc = parse(www.profile.config['cloud-init.vendor-data']!);
    assert.equal(doc.runcmd, undefined);
    assert.deepEqual(doc.users[0].ssh_authorized_keys, [evil]);
  });
});

describe('plan', () => {
  test('from nothing: everything created, in runbook order', () => {
    const d = desiredDeployment(config(), facts, { now: NOW });
    const plan = planDeployment(d, emptyCurrent());
    assert.ok(!plan.empty);
    assert.deepEqual(plan.conflicts, []);
    assert.ok(plan.items.every((x) => x.action === 'create'));
    assert.deepEqual(
      [...new Set(plan.items.map((x) => x.kind))],
      ['project', 'network', 'image', 'profile', 'volume', 'instance'],
    );
    assert.equal(plan.items.filter((x) => x.kind === 'volume').length, 6);
  });

  test("Incus's own project features (features.storage.buckets, features.networks.zones) are neither a change nor a conflict", () => {
    const d = desiredDeployment(config(), facts, { now: NOW });
    const current = appliedState(d);
    current.project!.config['features.storage.buckets'] = 'true';
    current.project!.config['features.networks.zones'] = 'false';
    const plan = planDeployment(d, current);
    assert.deepEqual(plan.conflicts, []);
    assert.ok(plan.empty, JSON.stringify(plan.items.filter((x) => x.action !== 'keep')));
    // A feature ssw sets still counts.
    current.project!.config['features.profiles'] = 'false';
    assert.match(planDeployment(d, current).conflicts.join('\n'), /features\.profiles: changed/);
  });

  test('applied: empty, and says so', () => {
    const d = desiredDeployment(config(), facts, { now: NOW });
    const plan = planDeployment(d, appliedState(d));
    assert.ok(plan.empty, JSON.stringify(plan.items.filter((x) => x.action !== 'keep')));
    assert.match(formatPlan(plan).join('\n'), /No changes/);
  });

  test('an edited limit changes only that profile; a stopped instance is started', () => {
    const d = desiredDeployment(config(), facts, { now: NOW });
    const cur = appliedState(d);
    cur.profiles['www-example-com']!.config['limits.memory'] = '2048MB';
    cur.instances['btcpayserver-example-com']!.status = 'Stopped';
    const changes = planDeployment(d, cur).items.filter((x) => x.action !== 'keep');
    assert.deepEqual(
      changes.map((x) => [x.kind, x.name, x.action, x.details]),
      [
        ['profile', 'www-example-com', 'change', ['limits.memory: changed']],
        ['instance', 'btcpayserver-example-com', 'change', ['start (stopped)']],
      ],
    );
  });

  test('volumes grow, never shrink', () => {
    const d = desiredDeployment(config(), facts, { now: NOW });
    const cur = appliedState(d);
    cur.volumes['www-ss-data']!.sizeBytes = 10e9;
    cur.volumes['www-backup']!.sizeBytes = 80e9;
    const byName = Object.fromEntries(
      planDeployment(d, cur)
        .items.filter((x) => x.kind === 'volume')
        .map((x) => [x.name, x]),
    );
    assert.equal(byName['www-ss-data']!.action, 'change');
    assert.deepEqual(byName['www-ss-data']!.details, ['grow 10GB -> 20GB']);
    assert.equal(byName['www-backup']!.action, 'keep');
    assert.match(byName['www-backup']!.details[0]!, /never shrink/);
  });

  test('an instance the config dropped is deleted (its volumes kept); a skipped one is kept', () => {
    const d = desiredDeployment(config(), facts, { now: NOW });
    const cur = appliedState(d);
    const dropped = desiredDeployment(
      config({ btcpayserver: { cpuCount: 2, memoryMb: 2048, disksGb: { ssdata: 1, backup: 1, docker: 1 } } }),
      facts,
      { now: NOW },
    );
    const plan = planDeployment(dropped, cur);
    const del = plan.items.filter((x) => x.action === 'delete');
    assert.deepEqual(
      del.map((x) => [x.kind, x.name]),
      [
        ['instance', 'btcpayserver-example-com'],
        ['profile', 'btcpayserver-example-com'],
      ],
    );
    assert.ok(
      plan.items
        .filter((x) => x.kind === 'volume' && x.name.startsWith('btcpayserver-'))
        .every((x) => x.action === 'keep'),
    );

    const skipped = planDeployment(desiredDeployment(config(), facts, { now: NOW, skip: { btcpayserver: true } }), cur);
    assert.ok(skipped.empty);
    assert.deepEqual(
      skipped.items.find((x) => x.name === 'btcpayserver-example-com' && x.kind === 'instance')?.details,
      ['skipped by --skip-*'],
    );
  });

  test('conflicts no change can fix: an instance of the other type, a volume of the wrong kind', () => {
    const d = desiredDeployment(config(), facts, { now: NOW });
    const cur = appliedState(d);
    cur.instances['www-example-com']!.type = 'container';
    cur.volumes['www-docker']!.contentType = 'filesystem';
    const plan = planDeployment(d, cur);
    assert.equal(plan.conflicts.length, 2);
    assert.match(plan.conflicts.join('\n'), /www-example-com is a container but INSTANCE_TYPE is virtual-machine/);
    assert.match(plan.conflicts.join('\n'), /volume www-docker is filesystem/);
  });

  test('the base image is built only when an instance is to be created from it', () => {
    const d = desiredDeployment(config(), facts, { now: NOW });
    const cur = appliedState(d);
    delete cur.baseImage; // a new week
    const plan = planDeployment(d, cur);
    assert.equal(plan.items.find((x) => x.kind === 'image')!.action, 'keep');
    assert.ok(plan.empty);
  });

  test('a builder an interrupted build left beside the published image: the image step runs again, to delete it', () => {
    const d = desiredDeployment(config(), facts, { now: NOW });
    const cur = appliedState(d);
    cur.baseImage = { ...cur.baseImage!, builderLeft: true };
    const plan = planDeployment(d, cur);
    const image = plan.items.find((x) => x.kind === 'image')!;
    assert.equal(image.action, 'change');
    assert.match(image.details.join(' '), /delete the builder/);
    assert.equal(plan.empty, false);
  });

  test('LXD sizes', () => {
    assert.equal(parseLxdSize('20GB'), 20e9);
    assert.equal(parseLxdSize('1GiB'), 1024 ** 3);
    assert.equal(parseLxdSize('1000'), 1000);
    assert.equal(parseLxdSize(undefined), undefined);
  });
});
