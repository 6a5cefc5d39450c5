import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CurrentSetup, desiredSetup, planSetup, renderPreseed, SetupConflict } from '../../common/remote-setup';
import {
  aptInstallArgv,
  chooseBackend,
  grantSocketArgv,
  inspectArgv,
  installArgvs,
  missingPackages,
  parseFacts,
  refusalFor,
} from '../../activities/host/inspect';

const opts = { mgmtIp: '192.0.2.10', apiPort: 8443, disk: '/dev/sdb', dataPlaneInterface: 'eno2' };

/** A host where everything ssw wants is already in place. */
function provisioned(): CurrentSetup {
  const d = desiredSetup(opts);
  return {
    serverConfig: { ...d.serverConfig, 'core.something_else': 'kept' },
    pools: { 'ss-base': { driver: 'zfs', config: { source: '/dev/sdb', 'zfs.pool_name': 'ss-base' } } },
    networks: Object.fromEntries(
      d.networks.map((n) => [
        n.name,
        {
          type: 'bridge',
          managed: true,
          description: n.description,
          config: { ...n.config, 'ipv4.firewall': 'true', 'user.ssw.created': 'true' },
        },
      ]),
    ),
    defaultProfileDevices: { root: { path: '/', pool: 'ss-base', type: 'disk' }, eth0: { type: 'nic' } },
  };
}

describe('LXD setup plan (ss-remote preseed equivalent)', () => {
  test('the preseed matches ss-remote: API on the management address, ss-base pool, NAT and OVN bridges, default root disk', () => {
    assert.equal(
      renderPreseed(desiredSetup(opts)),
      `config:
  core.https_address: 192.0.2.10:8443
  images.auto_update_interval: "15"
storage_pools:
  - name: ss-base
    driver: zfs
    config:
      source: /dev/sdb
networks:
  - name: lxdbr0
    type: bridge
    description: ss-config,eno2
    config:
      ipv4.address: 10.9.9.1/24
      ipv4.dhcp.ranges: 10.9.9.10-10.9.9.127
      ipv4.nat: "true"
      ipv6.address: none
      dns.mode: managed
  - name: lxdbr1
    type: bridge
    description: Non-natting bridge needed for ovn networks.
    config:
      ipv4.address: 10.10.10.1/24
      ipv4.dhcp.ranges: 10.10.10.10-10.10.10.63
      ipv4.ovn.ranges: 10.10.10.64-10.10.10.254
      ipv4.nat: "false"
      ipv6.address: none
profiles:
  - name: default
    devices:
      root:
        path: /
        pool: ss-base
        type: disk
`,
    );
  });

  test('disk choices: dir for test hosts, ZFS on a loop file, ZFS on a device; IPv6 API address in brackets', () => {
    const described = { name: 'ss-base', description: 'Sovereign Stack storage (created by ssw)' };
    assert.deepEqual(desiredSetup({ ...opts, disk: 'dir' }).pool, { ...described, driver: 'dir', config: {} });
    assert.deepEqual(desiredSetup({ ...opts, disk: 'loop' }).pool, { ...described, driver: 'zfs', config: {} });
    assert.equal(
      desiredSetup({ ...opts, mgmtIp: '2001:db8::1' }).serverConfig['core.https_address'],
      '[2001:db8::1]:8443',
    );
  });

  test('a bare LXD gets everything', () => {
    const plan = planSetup(
      { serverConfig: {}, pools: {}, networks: {}, defaultProfileDevices: {} },
      desiredSetup(opts),
    );
    assert.deepEqual(
      plan.map((c) => c.kind),
      ['server-config', 'create-pool', 'create-network', 'create-network', 'set-root-disk'],
    );
  });

  test('a provisioned host needs nothing (a re-run changes nothing), whatever else it has', () => {
    assert.deepEqual(planSetup(provisioned(), desiredSetup(opts)), []);
  });

  test('only the fields that differ are changed', () => {
    const cur = provisioned();
    cur.serverConfig['core.https_address'] = '192.0.2.10:9443';
    cur.networks.lxdbr0.config['ipv4.nat'] = 'false';
    cur.networks.lxdbr0.description = 'ss-config,eno1';
    assert.deepEqual(planSetup(cur, desiredSetup(opts)), [
      { kind: 'server-config', config: { 'core.https_address': '192.0.2.10:8443' } },
      { kind: 'update-network', name: 'lxdbr0', description: 'ss-config,eno2', config: { 'ipv4.nat': 'true' } },
    ]);
  });

  test('a wildcard API listener on the same port already serves the management address', () => {
    for (const addr of [':8443', '[::]:8443', '0.0.0.0:8443']) {
      const cur = provisioned();
      cur.serverConfig['core.https_address'] = addr;
      assert.deepEqual(planSetup(cur, desiredSetup(opts)), [], addr);
    }
    const otherPort = provisioned();
    otherPort.serverConfig['core.https_address'] = '[::]:9443';
    assert.equal(planSetup(otherPort, desiredSetup(opts))[0].kind, 'server-config');
  });

  test('a bridge ssw did not create is never renumbered (it may carry instances); only its description may change', () => {
    const cur = provisioned();
    delete cur.networks.lxdbr0.config['user.ssw.created'];
    cur.networks.lxdbr0.description = 'made by lxd init';
    assert.deepEqual(planSetup(cur, desiredSetup(opts)), [
      { kind: 'update-network', name: 'lxdbr0', description: 'ss-config,eno2', config: {} },
    ]);
    cur.networks.lxdbr0.config['ipv4.address'] = '10.132.47.1/24';
    assert.throws(
      () => planSetup(cur, desiredSetup(opts)),
      /lxdbr0 exists but was not created by ssw and differs \(ipv4\.address is 10\.132\.47\.1\/24, ssw wants 10\.9\.9\.1\/24\)/,
    );
  });

  test('refuses to overwrite what is fixed at creation or not ours', () => {
    const otherDriver = provisioned();
    otherDriver.pools['ss-base'].driver = 'btrfs';
    assert.throws(() => planSetup(otherDriver, desiredSetup(opts)), SetupConflict);
    const otherSource = provisioned();
    otherSource.pools['ss-base'].config.source = '/dev/sdc';
    assert.throws(() => planSetup(otherSource, desiredSetup(opts)), /already exists on \/dev\/sdc, not \/dev\/sdb/);
    const physical = provisioned();
    physical.networks.lxdbr1 = { type: 'physical', managed: false, description: '', config: {} };
    assert.throws(() => planSetup(physical, desiredSetup(opts)), /not an LXD-managed bridge/);
  });
});

describe('host inspection and install argv', () => {
  test('inputs reach the fixed script only as positional parameters', () => {
    const argv = inspectArgv('/dev/sdb; rm -rf /', 'eth0$(id)');
    assert.equal(argv[0], 'sh');
    assert.equal(argv[1], '-c');
    assert.ok(!argv[2].includes('/dev/sdb') && !argv[2].includes('$(id)'));
    assert.deepEqual(argv.slice(3), ['sh', '/dev/sdb; rm -rf /', 'eth0$(id)']);
  });

  test('facts parse from the script output', () => {
    const f = parseFacts(
      'uid=0\nsudo=0\nos_id=debian\nos_version_id=12\nlxd_path=/usr/bin/lxd\nlxd_version=5.0.2\nzfs=0\ndisk=1\niface=1\ndefault_iface=eth0\nmgmt_ip=127.0.0.1\nlxd_socket=/var/lib/lxd/unix.socket\nlxd_socket_group=lxd\nlxd_socket_access=1\n' +
        'incus_socket=/var/lib/incus/unix.socket\nincus_socket_group=incus-admin\nincus_socket_access=0\n' +
        'os_codename=bookworm\nincus_candidate=6.0.4-2~bpo12+1\nbookworm_backports=1\n',
    );
    assert.deepEqual(f.lxd, { path: '/usr/bin/lxd', version: '5.0.2' });
    assert.equal(f.incus, undefined);
    assert.equal(f.mgmtIp, '127.0.0.1');
    assert.equal(f.socketPath, '/var/lib/lxd/unix.socket');
    assert.equal(f.socketGroup, 'lxd');
    assert.equal(f.socketAccess, true);
    assert.deepEqual(f.sockets.incus, { path: '/var/lib/incus/unix.socket', group: 'incus-admin', access: false });
    assert.equal(f.osCodename, 'bookworm');
    assert.equal(f.incusCandidate, '6.0.4-2~bpo12+1');
    assert.equal(f.bookwormBackports, true);
    // Seen through Incus: its socket, its group.
    const incus = parseFacts('incus_socket=/var/lib/incus/unix.socket\nincus_socket_group=incus-admin\n', 'incus');
    assert.equal(incus.socketPath, '/var/lib/incus/unix.socket');
    assert.equal(incus.socketGroup, 'incus-admin');
    assert.equal(incus.socketAccess, false);
  });

  test('the backend: the one the host runs, else the one it has, else Incus; never a second one beside the first', () => {
    const none = parseFacts('uid=0\n');
    const lxdRuns = parseFacts('lxd_path=/usr/bin/lxd\nlxd_socket=/var/lib/lxd/unix.socket\n');
    const incusRuns = parseFacts('incus_path=/usr/bin/incus\nincus_socket=/var/lib/incus/unix.socket\n');
    const both = parseFacts('lxd_socket=/var/lib/lxd/unix.socket\nincus_socket=/var/lib/incus/unix.socket\n');
    assert.deepEqual(chooseBackend('auto', lxdRuns, 'h1'), { backend: 'lxd' });
    assert.deepEqual(chooseBackend('auto', incusRuns, 'h1'), { backend: 'incus' });
    assert.deepEqual(chooseBackend('auto', none, 'h1'), { backend: 'incus' }, "a bare host: ss's own choice");
    assert.deepEqual(chooseBackend('auto', parseFacts('lxd_path=/usr/bin/lxd\n'), 'h1'), { backend: 'lxd' });
    assert.deepEqual(chooseBackend('lxd', none, 'h1'), { backend: 'lxd' });
    assert.deepEqual(chooseBackend('incus', incusRuns, 'h1'), { backend: 'incus' });
    assert.match(
      chooseBackend('auto', both, 'h1').refusal!,
      /h1 runs both LXD \(\/var\/lib\/lxd\/unix\.socket\) and Incus \(\/var\/lib\/incus\/unix\.socket\); say which one ssw should use with --backend lxd or --backend incus/,
    );
    assert.match(
      chooseBackend('lxd', incusRuns, 'h1').refusal!,
      /h1 already runs Incus \(\/var\/lib\/incus\/unix\.socket\), not LXD; ssw will not install a second container manager beside it\. Pass --backend incus/,
    );
    assert.match(chooseBackend('incus', lxdRuns, 'h1').refusal!, /already runs LXD .*Pass --backend lxd/);
  });

  test("Incus gets ss's Incus names: incusbr0 (NAT, ss-config) and incusbr1 (OVN uplink); pool and profile as on LXD", () => {
    const incus = desiredSetup(opts, 'incus');
    assert.deepEqual(
      incus.networks.map((n) => [n.name, n.description]),
      [
        ['incusbr0', 'ss-config,eno2'],
        ['incusbr1', 'Non-natting bridge needed for ovn networks.'],
      ],
    );
    const lxd = desiredSetup(opts);
    assert.deepEqual(
      lxd.networks.map((n) => n.name),
      ['lxdbr0', 'lxdbr1'],
    );
    assert.deepEqual(incus.pool, lxd.pool);
    assert.deepEqual(incus.rootDisk, lxd.rootDisk);
    assert.deepEqual(incus.networks[0]!.config, lxd.networks[0]!.config);
  });

  test('installs only what is missing, through sudo -n when not root, never prompting', () => {
    const f = parseFacts('uid=1000\nsudo=1\nzfs=0\n');
    assert.deepEqual(missingPackages(f, 'lxd', '/dev/sdb'), ['lxd', 'zfsutils-linux']);
    assert.deepEqual(missingPackages(f, 'incus', 'dir'), ['incus']);
    assert.deepEqual(
      missingPackages({ ...f, lxd: { path: '/usr/bin/lxd', version: '5.0.2' }, zfs: true }, 'lxd', 'loop'),
      [],
    );
    assert.deepEqual(aptInstallArgv(f, ['lxd']), [
      'sudo',
      '-n',
      'env',
      'DEBIAN_FRONTEND=noninteractive',
      'apt-get',
      'install',
      '-y',
      '-q',
      '--no-install-recommends',
      'lxd',
    ]);
    assert.deepEqual(aptInstallArgv({ uid: 0 }, ['lxd']).slice(0, 2), ['env', 'DEBIAN_FRONTEND=noninteractive']);
  });
});

describe('install and access commands', () => {
  test('Debian installs through apt; Ubuntu gets LXD as a snap and the rest through apt', () => {
    assert.deepEqual(
      installArgvs({ uid: 0, osId: 'debian' }, ['lxd', 'zfsutils-linux']).map((a) => a.join(' ')),
      [
        'env DEBIAN_FRONTEND=noninteractive apt-get update -q',
        'env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends lxd zfsutils-linux',
      ],
    );
    assert.deepEqual(
      installArgvs({ uid: 1000, osId: 'ubuntu' }, ['lxd', 'zfsutils-linux']).map((a) => a.join(' ')),
      [
        'sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -q',
        'sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends zfsutils-linux',
        'sudo -n snap install lxd',
      ],
    );
  });

  test('Debian 12 installs Incus from bookworm-backports (its QEMU too); elsewhere from the main archive', () => {
    const bookworm = { uid: 0, osId: 'debian', osCodename: 'bookworm', bookwormBackports: true };
    assert.deepEqual(
      installArgvs(bookworm, ['incus', 'zfsutils-linux'])[1]!.join(' '),
      [
        'env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t bookworm-backports --no-install-recommends incus zfsutils-linux',
      ][0],
    );
    assert.equal(
      installArgvs({ uid: 0, osId: 'debian', osCodename: 'trixie' }, ['incus'])[1]!.join(' '),
      'env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends incus',
    );
    assert.equal(
      installArgvs(bookworm, ['lxd'])[1]!.join(' '),
      'env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends lxd',
      'LXD is in bookworm itself',
    );
  });

  test('a sudo user joins the socket group (as ss-remote adds ubuntu to lxd; incus-admin on Incus)', () => {
    assert.deepEqual(
      grantSocketArgv({ uid: 1000 }, 'incus-admin', 'ubuntu').join(' '),
      'sudo -n usermod -a -G incus-admin ubuntu',
    );
    assert.deepEqual(grantSocketArgv({ uid: 1000 }, 'lxd', 'ubuntu'), [
      'sudo',
      '-n',
      'usermod',
      '-a',
      '-G',
      'lxd',
      'ubuntu',
    ]);
  });
});

describe('hosts that cannot be provisioned', () => {
  const ok = parseFacts('uid=0\nsudo=0\nos_id=debian\nos_version_id=12\nzfs=1\ndisk=1\niface=1\nmgmt_ip=192.0.2.10\n');
  const req = { disk: '/dev/sdb', dataPlaneInterface: 'eno2', backend: 'lxd' };
  const t = { user: 'ubuntu', host: 'h1', port: 22 };

  test('a Debian host with root, disk and interface passes', () => {
    assert.equal(refusalFor(ok, req, t), undefined);
  });

  test('each refusal names the problem and what to do', () => {
    assert.match(
      refusalFor({ ...ok, osId: 'alpine', osVersionId: '3.20' }, req, t)!.message,
      /ubuntu@h1:22 runs "alpine 3.20"; ssw provisions Debian and Ubuntu hosts only/,
    );
    const priv = refusalFor({ ...ok, uid: 1000, sudo: false }, req, t)!;
    assert.equal(priv.privileges, true);
    assert.match(priv.message, /not root and has no passwordless sudo/);
    assert.equal(refusalFor({ ...ok, uid: 1000, sudo: true }, req, t), undefined, 'passwordless sudo is enough');
    assert.match(refusalFor({ ...ok, diskExists: false }, req, t)!.message, /The disk \/dev\/sdb does not exist on h1/);
    assert.match(refusalFor({ ...ok, interfaceExists: false }, req, t)!.message, /interface eno2 does not exist on h1/);
  });

  test("Incus missing from the host's package sources: says where Debian 12 has it, and the other way", () => {
    const incus = { ...req, backend: 'incus' };
    const bookworm = { ...ok, osCodename: 'bookworm' };
    assert.match(
      refusalFor(bookworm, incus, t)!.message,
      /Incus is not in h1's package sources: Debian 12 has it in bookworm-backports, which this host's apt does not use\. Add it there .*bookworm-backports main.*; or pass --backend lxd\./,
    );
    assert.match(
      refusalFor({ ...ok, osCodename: 'jammy', osId: 'ubuntu' }, incus, t)!.message,
      /apt-cache policy incus shows no candidate/,
    );
    assert.equal(refusalFor({ ...bookworm, incusCandidate: '6.0.4-2~bpo12+1' }, incus, t), undefined, 'installable');
    assert.equal(
      refusalFor({ ...bookworm, incus: { path: '/usr/bin/incus', version: '6.0.4' } }, incus, t),
      undefined,
      'installed',
    );
  });
});
