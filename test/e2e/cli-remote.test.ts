import { harnessCliArgs } from '../helpers/suite-args';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { LxdClient } from '../../activities/lxd/client';
import { loadOrCreateClientCert } from '../../activities/lxd/client-cert';
import { encryptedDataConverter } from '../../common/codec/data-converter';
import { SsPaths } from '../../common/paths';
import { readRemoteRecord } from '../../common/remotes';
import { queryProgress } from '../../client/follow';
import { LongRunning, ssw, sswAsync, startService, stopService } from '../helpers/cli';
import { apiPortFor, backendUnderTest, harness } from '../helpers/harness';
import { harnessLxd, resetHarnessLxd } from '../helpers/lxd';
import { ssBridges } from '../../common/backend';
import { tempSsRoot, uniqueTaskQueue, waitFor } from '../helpers/temporal';

// `ssw remote ...` through the real CLI: the harness sshd is the cluster host,
// the harness LXD (or Incus: SSW_TEST_BACKEND) is its container manager, detected by
// `remote add` (no --backend), a real worker runs provisionRemote.
const backend = backendUnderTest();
const { nat: NAT, ovn: OVN } = ssBridges(backend.backend);
const root = tempSsRoot('ssw-remote-');
const paths = new SsPaths(root);
const taskQueue = uniqueTaskQueue('remote');
const common = () => harnessCliArgs(root, taskQueue);
const sshArgs = (user = harness().ssh.user) => [
  '127.0.0.1',
  '--ssh-port',
  String(backend.sshPort),
  '--ssh-user',
  user,
  '--ssh-key',
  harness().ssh.privateKeyPath,
];
// A port of its own, so provisioning really switches the API listener (and trust follows it);
// resetHost() puts the harness's own address back.
const API_PORT = apiPortFor(18444);
const apiPort = () => String(API_PORT);
const add = (name: string, ...extra: string[]) =>
  ssw(['remote', 'add', name, ...sshArgs(), '--disk', 'dir', '--api-port', apiPort(), ...extra, ...common()]);
const NO_STACK = /\n\s+at .+:\d+:\d+/;

/** A loopback port nothing listens on. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });

let worker: LongRunning;
let lxd: LxdClient; // the harness LXD over its unix socket: what the host really has

const resetHost = () => resetHarnessLxd(lxd, paths);

/** Everything on the host that provisioning could touch, to compare before and after a re-run. */
async function hostSnapshot() {
  const server = await lxd.server();
  return {
    config: server.config,
    profile: await lxd.getProfile('default'),
    networks: await Promise.all([NAT, OVN].map((n) => lxd.getNetwork(n))),
    pool: await lxd.getStoragePool('ss-base'),
    certificates: (await lxd.listCertificates()).map((c) => c.fingerprint).sort(),
  };
}

before(async () => {
  lxd = harnessLxd();
  await resetHost();
  worker = await startService(['worker', ...common()], /Worker polling/);
});

after(async () => {
  await stopService(worker);
  await resetHost();
  lxd.close();
});

async function historyOf(workflowId: string) {
  const connection = await Connection.connect({ address: harness().temporal.address });
  try {
    const client = new Client({ connection, namespace: harness().temporal.namespace });
    return (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  } finally {
    await connection.close();
  }
}

describe('ssw remote add', () => {
  test('takes the harness host from nothing to a usable remote', async () => {
    const r = add('local', '--json');
    assert.equal(r.status, 0, r.stderr);
    const { result, current } = JSON.parse(r.stdout);
    assert.equal(result.remote, 'local');
    assert.equal(result.backend, backend.backend, 'detected: the host runs only this one');
    assert.equal(result.endpoint, `https://127.0.0.1:${API_PORT}`);
    assert.ok(
      result.changes.some((c: string) => c.startsWith(`server config core.https_address=127.0.0.1:${API_PORT}`)),
      result.changes.join('\n'),
    );
    assert.equal(result.trust, 'added');
    assert.ok(result.changes.includes('create storage pool ss-base (dir)'));
    assert.equal(current, true);

    const pool = await lxd.getStoragePool('ss-base');
    assert.equal(pool?.driver, 'dir');
    const nat = await lxd.getNetwork(NAT);
    assert.match(nat?.description ?? '', /^ss-config,/);
    assert.equal(nat?.config['ipv4.nat'], 'true');
    assert.equal((await lxd.getNetwork(OVN))?.config['ipv4.nat'], 'false');
    const profile = await lxd.getProfile('default');
    assert.equal(profile?.devices?.root?.pool, 'ss-base');
    assert.deepEqual(
      JSON.parse(profile?.config['user.ssw.previous_root'] ?? '{}'),
      { path: '/', pool: 'default', type: 'disk' },
      'the host remembers the root disk it had',
    );

    // The recorded endpoint answers over HTTPS with this machine's certificate and the pinned server certificate.
    const rec = readRemoteRecord(paths, 'local')!;
    const api = new LxdClient({
      endpoint: rec.endpoint,
      clientCert: await loadOrCreateClientCert(paths),
      serverCertPem: rec.serverCertPem,
    });
    try {
      assert.equal((await api.server()).auth, 'trusted');
      assert.ok(Array.isArray(await api.listInstances({ allProjects: true })));
    } finally {
      api.close();
    }
    assert.match(
      fs.readFileSync(paths.knownHosts, 'utf8'),
      new RegExp(`^\\[127\\.0\\.0\\.1\\]:${backend.sshPort} ssh-ed25519 `, 'm'),
    );
    assert.match(fs.readFileSync(paths.remoteConf('local'), 'utf8'), /DEPLOYMENT_STRING/);
  });

  test('running it again changes nothing', async () => {
    const before = await hostSnapshot();
    const r = add('local', '--json');
    assert.equal(r.status, 0, r.stderr);
    const { result } = JSON.parse(r.stdout);
    assert.deepEqual(result.changes, []);
    assert.deepEqual(result.installed, []);
    assert.equal(result.trust, 'already-trusted');
    assert.deepEqual(await hostSnapshot(), before, 'the host is exactly as it was');
  });

  test('remote list and remote show describe it', () => {
    const list = JSON.parse(ssw(['remote', 'list', '--json', ...common()]).stdout) as {
      name: string;
      reachable: boolean;
      current: boolean;
      backend: string;
    }[];
    assert.deepEqual(
      list.map((r) => [r.name, r.reachable, r.current]),
      [['local', true, true]],
    );
    assert.match(list[0].backend, backend.backend === 'lxd' ? /^lxd 5\./ : /^incus 6\./);
    const show = ssw(['remote', 'show', 'local', '--json', ...common()]);
    assert.equal(show.status, 0, show.stderr);
    const doc = JSON.parse(show.stdout) as {
      storagePools: { name: string }[];
      networks: { name: string }[];
      projects: string[];
    };
    assert.ok(doc.storagePools.some((p) => p.name === 'ss-base'));
    assert.deepEqual(
      doc.networks
        .map((n) => n.name)
        .filter((n) => n === NAT || n === OVN)
        .sort(),
      [NAT, OVN],
    );
    assert.ok(doc.projects.includes('default'));
    const text = ssw(['remote', 'show', ...common()]); // the current remote
    assert.match(
      text.stdout,
      new RegExp(`Remote local: ${backend.backend === 'lxd' ? 'lxd 5' : 'incus 6'}\\.\\S+ at https://127\\.0\\.0\\.1:`),
    );
  });

  test('remote switch names only remotes that exist', () => {
    const bad = ssw(['remote', 'switch', 'nowhere', ...common()]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /There is no remote nowhere/);
    assert.equal(ssw(['remote', 'switch', 'local', ...common()]).status, 0);
    assert.equal(fs.readFileSync(paths.currentRemoteFile, 'utf8').trim(), 'local');
  });
});

describe('ssw remote remove', () => {
  test('refuses while deployments exist; --force forgets the remote and leaves the host alone', async () => {
    await lxd.createProject({ name: 'ssw-e2e-dep', config: {} });
    try {
      const refused = ssw(['remote', 'remove', 'local', ...common()]);
      assert.equal(refused.status, 2);
      assert.match(refused.stderr, /local still has deployments: ssw-e2e-dep/);
      const forced = ssw(['remote', 'remove', 'local', '--force', ...common()]);
      assert.equal(forced.status, 0, forced.stderr);
      assert.equal(readRemoteRecord(paths, 'local'), undefined);
      assert.ok(await lxd.getNetwork(NAT), 'the host was not touched');
      assert.ok(fs.existsSync(paths.remoteConf('local')), "the operator's remote.conf is kept");
    } finally {
      await lxd.deleteProject('ssw-e2e-dep');
    }
    // Taking it back under management finds everything in place.
    const again = add('local', '--json');
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout).result.changes, []);
  });

  test('--deprovision needs --yes, then undoes on the host what add did', async () => {
    const unconfirmed = ssw(['remote', 'remove', 'local', '--deprovision', ...common()]);
    assert.equal(unconfirmed.status, 2);
    assert.match(unconfirmed.stderr, /Add --yes to confirm/);
    assert.ok(await lxd.getStoragePool('ss-base'), 'nothing happened without --yes');

    const r = ssw(['remote', 'remove', 'local', '--deprovision', '--yes', ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(await lxd.getNetwork(NAT), undefined);
    assert.equal(await lxd.getNetwork(OVN), undefined);
    assert.equal(await lxd.getStoragePool('ss-base'), undefined);
    const profile = await lxd.getProfile('default');
    assert.equal(
      profile?.devices?.root?.pool,
      'default',
      'the root disk is back where it was, though this machine forgot and re-added the remote',
    );
    assert.equal(profile?.config['user.ssw.previous_root'], undefined);
    assert.equal(
      await lxd.getCertificate((await loadOrCreateClientCert(paths)).fingerprint),
      undefined,
      'trust revoked',
    );
    assert.equal(readRemoteRecord(paths, 'local'), undefined);
  });
});

describe('durability of remote add', () => {
  test('a SIGKILLed worker mid-provisioning: a new worker completes it without redoing finished steps', async () => {
    const workflowId = 'provision-remote/crashy';
    const run = sswAsync([
      'remote',
      'add',
      'crashy',
      ...sshArgs(),
      '--disk',
      'dir',
      '--api-port',
      apiPort(),
      '--json',
      ...common(),
    ]);
    const connection = await Connection.connect({ address: harness().temporal.address });
    const client = new Client({
      connection,
      namespace: harness().temporal.namespace,
      dataConverter: encryptedDataConverter(paths.payloadKey),
    });
    try {
      // Kill it while LXD is being configured (bridges take a moment to create).
      await waitFor(
        'the configure step to run',
        async () => {
          try {
            const p = await queryProgress(client, client.workflow.getHandle(workflowId));
            return p?.current.some((s) => s.startsWith('Configure LXD'));
          } catch {
            return false;
          }
        },
        60000,
        20,
      );
      process.kill(-worker.child.pid!, 'SIGKILL');
      await worker.exited;
      worker = await startService(['worker', ...common()], /Worker polling/);
      const r = await run;
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).result.remote, 'crashy');
    } finally {
      await connection.close();
    }
    const events = await historyOf(workflowId);
    const E = temporal.api.enums.v1.EventType;
    const scheduled = events
      .filter((e) => e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    assert.deepEqual(
      scheduled,
      ['sshCheck', 'inspectHost', 'installHostPackages', 'configureLxd', 'trustManagementCertificate', 'recordRemote'],
      'each step scheduled once',
    );
    const completed = events.filter((e) => e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED);
    assert.equal(completed.length, 6);
    const retried = events.filter(
      (e) =>
        e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_STARTED && (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1,
    );
    assert.equal(retried.length, 1, 'only the step that was running when the worker died ran again');
    const retriedType = events.find(
      (e) => Number(e.eventId) === Number(retried[0].activityTaskStartedEventAttributes?.scheduledEventId),
    )?.activityTaskScheduledEventAttributes?.activityType?.name;
    assert.equal(retriedType, 'configureLxd', 'the interrupted step was the one configuring LXD');
    assert.equal((await lxd.getProfile('default'))?.devices?.root?.pool, 'ss-base');
    const rm = ssw(['remote', 'remove', 'crashy', '--deprovision', '--yes', ...common()]);
    assert.equal(rm.status, 0, rm.stderr);
  });
});

describe("what ssw did not create is the operator's", () => {
  test('an existing pool and bridge are used as they are, and deprovisioning keeps them', async () => {
    await lxd.createStoragePool({ name: 'ss-base', driver: 'dir', config: {} });
    await lxd.createNetwork({
      name: OVN,
      type: 'bridge',
      description: 'Non-natting bridge needed for ovn networks.',
      config: {
        'ipv4.address': '10.10.10.1/24',
        'ipv4.dhcp.ranges': '10.10.10.10-10.10.10.63',
        'ipv4.ovn.ranges': '10.10.10.64-10.10.10.254',
        'ipv4.nat': 'false',
        'ipv6.address': 'none',
      },
    });
    try {
      const r = add('owned', '--json');
      assert.equal(r.status, 0, r.stderr);
      const changes: string[] = JSON.parse(r.stdout).result.changes;
      assert.ok(
        !changes.some((c) => c.includes('ss-base (')) && !changes.some((c) => c.includes(OVN)),
        changes.join('\n'),
      );
      const rm = ssw(['remote', 'remove', 'owned', '--deprovision', '--yes', ...common()]);
      assert.equal(rm.status, 0, rm.stderr);
      assert.ok(await lxd.getStoragePool('ss-base'), "the operator's pool is kept");
      assert.ok(await lxd.getNetwork(OVN), "the operator's bridge is kept");
      assert.equal(await lxd.getNetwork(NAT), undefined, 'the bridge ssw created is removed');
      assert.equal((await lxd.getProfile('default'))?.devices?.root?.pool, 'default', 'the root disk change is undone');
    } finally {
      await resetHost();
    }
  });

  test('a bridge ssw did not create is not renumbered: a clear refusal instead', async () => {
    await lxd.createNetwork({
      name: NAT,
      type: 'bridge',
      config: { 'ipv4.address': '10.77.0.1/24', 'ipv4.nat': 'false', 'ipv6.address': 'none' },
    });
    try {
      const r = add('renumber');
      assert.equal(r.status, 1);
      assert.match(
        r.stderr,
        new RegExp(
          `The bridge ${NAT} exists but was not created by ssw and differs \\(ipv4\\.address is 10\\.77\\.0\\.1/24`,
        ),
      );
      assert.equal((await lxd.getNetwork(NAT))?.config['ipv4.address'], '10.77.0.1/24', 'untouched');
    } finally {
      await resetHost();
    }
  });
});

describe('remote add errors: one clear message each, nothing left behind', () => {
  const leftNothing = (name: string) =>
    assert.ok(!fs.existsSync(paths.remoteDir(name)), `no ${paths.remoteDir(name)} left behind`);

  test('--print-preseed shows the LXD setup and touches nothing', () => {
    const r = ssw([
      'remote',
      'add',
      'shown',
      '192.0.2.10',
      '--disk',
      '/dev/sdb',
      '--data-plane-interface',
      'eno2',
      '--print-preseed',
      ...common(),
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /core\.https_address: 192\.0\.2\.10:8443/);
    assert.match(r.stdout, /source: \/dev\/sdb/);
    assert.match(r.stdout, /description: ss-config,eno2/);
    // Without the host nothing is detected: a bare host's setup, Incus's names.
    assert.match(r.stdout, /^# incus admin init --preseed/);
    assert.match(r.stdout, /name: incusbr0\n/);
    const lxdNames = ssw(['remote', 'add', 'shown', '192.0.2.10', '--backend', 'lxd', '--print-preseed', ...common()]);
    assert.equal(lxdNames.status, 0, lxdNames.stderr);
    assert.match(lxdNames.stdout, /^# lxd init --preseed\n/);
    assert.match(lxdNames.stdout, /name: lxdbr0\n/);
    leftNothing('shown');
  });

  test('bad input is refused before the host is touched', () => {
    for (const [args, msg] of [
      [['remote', 'add', 'Bad_Name', ...sshArgs()], /remote name must be/],
      [['remote', 'add', 'x1', ...sshArgs(), '--disk', '/dev/sdb;reboot'], /--disk must be a block device/],
      [
        ['remote', 'add', 'x1', ...sshArgs(), '--data-plane-interface', 'eth0 up'],
        /--data-plane-interface must be a network interface name/,
      ],
      [
        ['remote', 'add', 'x1', 'host;x', '--ssh-key', harness().ssh.privateKeyPath],
        /HOST must be an IP address or a host name/,
      ],
    ] as const) {
      const r = ssw([...args, ...common()]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, msg);
      assert.doesNotMatch(r.stderr, NO_STACK);
    }
    leftNothing('x1');
  });

  test('an unreachable host', async () => {
    const port = await freePort();
    const r = ssw([
      'remote',
      'add',
      'gone',
      '127.0.0.1',
      '--ssh-port',
      String(port),
      '--ssh-key',
      harness().ssh.privateKeyPath,
      '--disk',
      'dir',
      ...common(),
    ]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port}.*nothing was started`));
    leftNothing('gone');
  });

  test('an unreachable Temporal: no host key pinned, no stub; a rerun shows the fingerprint again', async () => {
    const { forgetHostKey, lookupHostKeys } = await import('../../activities/ssh');
    const h = harness();
    const saved = fs.existsSync(paths.knownHosts) ? fs.readFileSync(paths.knownHosts, 'utf8') : undefined;
    forgetHostKey(paths.knownHosts, '127.0.0.1', backend.sshPort); // a host seen for the first time
    try {
      const closed = await freePort();
      const offline = [
        '--ss-root',
        root,
        '--temporal-address',
        `127.0.0.1:${closed}`,
        '--namespace',
        h.temporal.namespace,
        '--task-queue',
        taskQueue,
      ];
      const r = ssw(['remote', 'add', 'offline', ...sshArgs(), '--disk', 'dir', ...offline]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`Cannot reach Temporal at 127\\.0\\.0\\.1:${closed}`));
      assert.doesNotMatch(r.stderr, NO_STACK);
      assert.doesNotMatch(r.stdout, /Pinned the host key/, 'the host was not probed');
      assert.deepEqual(lookupHostKeys(paths.knownHosts, '127.0.0.1', backend.sshPort), [], 'no known_hosts line');
      leftNothing('offline');

      // With Temporal there, the key is new again: the notice is shown (and the failed run
      // removes the pin and the stub it wrote).
      const again = ssw([
        'remote',
        'add',
        'offline',
        ...sshArgs(),
        '--disk',
        '/dev/ssw-no-such-disk',
        '--api-port',
        apiPort(),
        ...common(),
      ]);
      assert.equal(again.status, 1, again.stderr);
      assert.match(
        again.stdout,
        new RegExp(`Pinned the host key of 127\\.0\\.0\\.1:${backend.sshPort} on first use: ssh-ed25519 SHA256:`),
      );
      assert.deepEqual(lookupHostKeys(paths.knownHosts, '127.0.0.1', backend.sshPort), []);
      leftNothing('offline');
    } finally {
      if (saved === undefined) fs.rmSync(paths.knownHosts, { force: true });
      else fs.writeFileSync(paths.knownHosts, saved);
    }
  });

  test('another operation running on the remote: refused before the host is probed or anything written', async () => {
    const { forgetHostKey, lookupHostKeys } = await import('../../activities/ssh');
    const h = harness();
    const saved = fs.existsSync(paths.knownHosts) ? fs.readFileSync(paths.knownHosts, 'utf8') : undefined;
    forgetHostKey(paths.knownHosts, '127.0.0.1', backend.sshPort);
    const connection = await Connection.connect({ address: h.temporal.address });
    const client = new Client({ connection, namespace: h.temporal.namespace });
    // A run nobody works on (its own task queue) holds the remote.
    const busy = await client.workflow.start('deprovisionRemote', {
      workflowId: 'deprovision-remote/busy',
      taskQueue: uniqueTaskQueue('idle'),
      args: [],
    });
    try {
      const r = ssw(['remote', 'add', 'busy', ...sshArgs(), '--disk', 'dir', ...common()]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /Another operation is running on remote busy: deprovision-remote\/busy/);
      assert.doesNotMatch(r.stdout, /Pinned the host key/);
      assert.deepEqual(lookupHostKeys(paths.knownHosts, '127.0.0.1', backend.sshPort), []);
      leftNothing('busy');
    } finally {
      await busy.terminate('test over');
      await connection.close();
      if (saved === undefined) fs.rmSync(paths.knownHosts, { force: true });
      else fs.writeFileSync(paths.knownHosts, saved);
    }
  });

  test('a refused key', () => {
    const key = path.join(root, 'stranger');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const r = ssw([
      'remote',
      'add',
      'refused',
      '127.0.0.1',
      '--ssh-port',
      String(backend.sshPort),
      '--ssh-user',
      'root',
      '--ssh-key',
      key,
      '--disk',
      'dir',
      ...common(),
    ]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /SswAuthFailed/);
    leftNothing('refused');
  });

  test('a changed host key', () => {
    const other = path.join(root, 'other-host-key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const saved = fs.readFileSync(paths.knownHosts, 'utf8');
    fs.writeFileSync(
      paths.knownHosts,
      `[127.0.0.1]:${backend.sshPort} ${fs.readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`,
    );
    try {
      const r = add('mitm');
      assert.equal(r.status, 1);
      assert.match(r.stderr, /SswHostKeyMismatch/);
      leftNothing('mitm');
    } finally {
      fs.writeFileSync(paths.knownHosts, saved);
    }
  });

  test('a missing disk', () => {
    const r = ssw([
      'remote',
      'add',
      'nodisk',
      ...sshArgs(),
      '--disk',
      '/dev/ssw-no-such-disk',
      '--api-port',
      apiPort(),
      ...common(),
    ]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /The disk \/dev\/ssw-no-such-disk does not exist on 127\.0\.0\.1/);
    leftNothing('nodisk');
  });

  test('a --backend other than the one the host runs is refused before anything is installed', () => {
    const other = backend.backend === 'lxd' ? 'incus' : 'lxd';
    const r = ssw([
      'remote',
      'add',
      'other',
      ...sshArgs(),
      '--disk',
      'dir',
      '--api-port',
      apiPort(),
      '--backend',
      other,
      ...common(),
    ]);
    assert.equal(r.status, 1);
    const label = backend.backend === 'lxd' ? 'LXD' : 'Incus';
    assert.match(
      r.stderr,
      new RegExp(`127\\.0\\.0\\.1 already runs ${label} \\(${backend.socket.replace(/\./g, '\\.')}\\)`),
    );
    assert.match(r.stderr, new RegExp(`Pass --backend ${backend.backend}, or leave --backend out`));
    assert.doesNotMatch(r.stderr, NO_STACK);
    leftNothing('other');
  });

  test('not enough privileges', () => {
    const r = ssw([
      'remote',
      'add',
      'lowly',
      ...sshArgs(harness().ssh.unprivilegedUser),
      '--disk',
      'dir',
      '--api-port',
      apiPort(),
      ...common(),
    ]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is not root and has no passwordless sudo/);
    assert.match(r.stderr, /SswPrivilegesError/);
    leftNothing('lowly');
  });
});
