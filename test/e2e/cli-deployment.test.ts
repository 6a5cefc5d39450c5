import { addHarnessRemote, harnessCliArgs } from '../helpers/suite-args';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import type { LxdClient } from '../../activities/lxd/client';
import { fingerprintSha256, lookupHostKeys, runChecked, withSsh } from '../../activities/ssh';
import { SsPaths } from '../../common/paths';
import { LongRunning, ssw, startService, stopService } from '../helpers/cli';
import { apiPortFor, backendUnderTest, harness } from '../helpers/harness';
import { killWorkerDuring } from '../helpers/kill-worker';
import { harnessLxd, resetHarnessLxd } from '../helpers/lxd';
import { tempSsRoot, uniqueTaskQueue, withEncryptedClient } from '../helpers/temporal';

// `ssw up|down|show` through the real CLI and a real worker: the harness sshd plays
// the cluster host, its LXD (or Incus: SSW_TEST_BACKEND) the remote's; instances are system containers from
// the harness's debootstrap image on the harness's test bridge.
const root = tempSsRoot('ssw-deploy-');
const paths = new SsPaths(root);
const taskQueue = uniqueTaskQueue('deploy');
const backend = backendUnderTest();
const REMOTE = 'lab';
const DEPLOYMENT = 'dep1';
const DOMAIN = 'dep1.example';
const WWW = 'www-dep1-example';
const BTCPAY = 'btcpayserver-dep1-example';
const VOLUMES = [
  'btcpayserver-backup',
  'btcpayserver-docker',
  'btcpayserver-ss-data',
  'www-backup',
  'www-docker',
  'www-ss-data',
];
const common = () => harnessCliArgs(root, taskQueue);
const target = ['--deployment', DEPLOYMENT, '--remote', REMOTE];
// The LXD side only: the services (certificates, stacks) are cli-services.test.ts's.
const upTarget = [...target, '--instances-only'];
const NO_STACK = /\n\s+at .+:\d+:\d+/;

let worker: LongRunning;
let lxd: LxdClient;

function writeConfig(): void {
  fs.writeFileSync(
    paths.remoteConf(REMOTE),
    `DEPLOYMENT_STRING="(${DEPLOYMENT}|regtest)"\nDATA_PLANE_NETWORK=${backend.testBridge}\n`,
  );
  fs.mkdirSync(`${root}/projects/${DEPLOYMENT}`, { recursive: true });
  fs.writeFileSync(
    paths.projectConf(DEPLOYMENT),
    [
      `PRIMARY_DOMAIN=${DOMAIN}`,
      'INSTANCE_TYPE=container',
      `BASE_IMAGE=${backend.baseImage}`,
      'WWW_SERVER_MAC_ADDRESS=00:16:3e:5b:00:01',
      'BTCPAY_SERVER_MAC_ADDRESS=00:16:3e:5b:00:02',
      'WWW_SERVER_CPU_COUNT=1',
      'WWW_SERVER_MEMORY_MB=1024',
      'BTCPAY_SERVER_CPU_COUNT=1',
      'BTCPAY_SERVER_MEMORY_MB=1024',
      'WWW_SSDATA_DISK_SIZE_GB=2',
      '',
    ].join('\n'),
  );
}

const withTemporal = <T>(fn: (client: Client) => Promise<T>) => withEncryptedClient(paths.payloadKey, fn);

async function workflowExists(id: string): Promise<boolean> {
  return withTemporal(async (c) => {
    try {
      await c.workflow.getHandle(id).describe();
      return true;
    } catch {
      return false;
    }
  });
}

/** What the deployment's project holds, as the harness LXD sees it. */
async function projectState() {
  const p = lxd.withProject(DEPLOYMENT);
  if (!(await lxd.getProject(DEPLOYMENT))) return undefined;
  return {
    instances: (await p.listInstances()).map((i) => `${i.name}:${i.status}`).sort(),
    profiles: (await p.listProfiles())
      .map((x) => x.name)
      .filter((n) => n !== 'default')
      .sort(),
    volumes: (await p.listStorageVolumes('ss-base')).map((v) => v.name).sort(),
    network: Boolean(await lxd.getNetwork(`ss-${DEPLOYMENT}`)),
    builders: (await lxd.listInstances()).filter((i) => i.name.startsWith('ssw-build-')).map((i) => i.name),
  };
}

function instanceRecord(role: string): { ssh: { host: string; port: number; user: string; privateKeyPath: string } } {
  return JSON.parse(fs.readFileSync(paths.instanceRecord(REMOTE, DEPLOYMENT, role), 'utf8'));
}

/** Runs a command on an instance the way every later step does: SSH with the host key pinned by `up`. */
async function onInstance(role: string, argv: string[]): Promise<string> {
  const rec = instanceRecord(role);
  return withSsh(
    rec.ssh,
    { hostKeys: { knownHostsFile: paths.knownHosts, mode: 'pinned' } },
    async ({ client }) => (await runChecked(client, argv, { timeoutMs: 30_000 })).stdout,
  );
}

before(async () => {
  lxd = harnessLxd();
  await resetHarnessLxd(lxd, paths, [DEPLOYMENT]);
  worker = await startService(['worker', ...common()], /Worker polling/);
  const add = addHarnessRemote(REMOTE, apiPortFor(18445), common());
  assert.equal(add.status, 0, add.stderr);
  writeConfig();
});

after(async () => {
  if (worker) await stopService(worker);
  await resetHarnessLxd(lxd, paths, [DEPLOYMENT]);
  lxd.close();
});

describe('bad input starts nothing', () => {
  test('a missing site.conf is stubbed (0600, fresh passwords) and the command exits 1 naming it', async () => {
    const r = ssw(['up', ...target, ...common()]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${paths.siteConf(DOMAIN).replace(/[.]/g, '\\.')}`));
    assert.doesNotMatch(r.stderr, NO_STACK);
    assert.equal(fs.statSync(paths.siteConf(DOMAIN)).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(paths.siteConf(DOMAIN), 'utf8'), /DUPLICITY_BACKUP_PASSPHRASE="?[A-Za-z0-9_-]{20,}/);
    assert.equal(await workflowExists(`up/${REMOTE}/${DEPLOYMENT}`), false);
  });

  test('invalid values: every problem at once (file, key, expected), exit 2', async () => {
    const file = paths.projectConf(DEPLOYMENT);
    const good = fs.readFileSync(file, 'utf8');
    try {
      fs.writeFileSync(
        file,
        good
          .replace('INSTANCE_TYPE=container', 'INSTANCE_TYPE=vm')
          .replace('WWW_SERVER_MAC_ADDRESS=00:16:3e:5b:00:01', 'WWW_SERVER_MAC_ADDRESS=00:16:3e:5b:00'),
      );
      const r = ssw(['up', ...target, ...common()]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /INSTANCE_TYPE.*expected virtual-machine or container/);
      assert.match(r.stderr, /WWW_SERVER_MAC_ADDRESS.*expected a MAC address/);
      assert.match(r.stderr, /nothing was started/i);
      assert.doesNotMatch(r.stderr, NO_STACK);
      assert.equal(await workflowExists(`up/${REMOTE}/${DEPLOYMENT}`), false);
    } finally {
      fs.writeFileSync(file, good);
    }
  });

  test('flags: no deployment, a deployment the remote does not list, --purge without --yes off a terminal, a production remote without --yes', async () => {
    const cases: [string[], RegExp][] = [
      [['up', '--remote', REMOTE], /Name the deployment: --deployment NAME/],
      [['up', '--deployment', 'other', '--remote', REMOTE], /expected an entry for the deployment "other"/],
      [
        ['down', ...target, '--purge'],
        /--purge deletes the volumes \(all data\) of deployment dep1 on remote lab\. Nothing was started\. Add --yes/,
      ],
      [['up', '--deployment', 'x;rm', '--remote', REMOTE], /deployment/i],
    ];
    for (const [argv, message] of cases) {
      const r = ssw([...argv, ...common()]);
      assert.notEqual(r.status, 0, argv.join(' '));
      assert.match(r.stderr, message, argv.join(' '));
      assert.doesNotMatch(r.stderr, NO_STACK);
    }
    fs.mkdirSync(`${root}/remotes/prod-home`, { recursive: true });
    fs.writeFileSync(paths.remoteConf('prod-home'), `DEPLOYMENT_STRING="(${DEPLOYMENT}|regtest)"\n`);
    const prod = ssw(['up', '--deployment', DEPLOYMENT, '--remote', 'prod-home', ...common()]);
    assert.equal(prod.status, 2, prod.stderr);
    assert.match(
      prod.stderr,
      /Remote prod-home is a production remote\. Nothing was started\. To change it, run the command again with --yes/,
    );
    assert.equal(await workflowExists(`up/prod-home/${DEPLOYMENT}`), false);
    assert.equal(await workflowExists(`down/${REMOTE}/${DEPLOYMENT}`), false);
    assert.equal(await lxd.getProject(DEPLOYMENT), undefined, 'nothing was created');
  });
});

describe('ssw up', () => {
  test('--plan from nothing lists what up will create and changes nothing', async () => {
    const r = ssw(['up', ...upTarget, '--plan', ...common()]);
    assert.equal(r.status, 0, r.stderr);
    for (const line of [
      /\+ create project\s+dep1/,
      /\+ create network\s+ss-dep1/,
      /\+ create profile\s+www-dep1-example/,
      /\+ create volume\s+www-ss-data\s+\(filesystem, 2GB\)/,
      /\+ create instance btcpayserver-dep1-example/,
    ]) {
      assert.match(r.stdout, line);
    }
    assert.equal(await lxd.getProject(DEPLOYMENT), undefined);
  });

  test('from nothing, with the worker SIGKILLed mid-run: a new worker finishes it, with nothing duplicated', async () => {
    // A fresh weekly image, so the run has a long step to be killed in.
    for (const a of await lxd.listImageAliases()) if (a.name.startsWith('ss-docker-')) await lxd.deleteImage(a.target);
    const killed = await withTemporal((client) =>
      killWorkerDuring({
        args: ['up', ...upTarget, ...common()],
        workflowId: `up/${REMOTE}/${DEPLOYMENT}`,
        client,
        at: (s) => s === 'Base image' || s.endsWith('instance created and started'),
        worker,
        workerArgs: ['worker', ...common()],
        timeoutMs: 120_000,
      }),
    );
    worker = killed.worker;
    const killedAt = killed.killedAt;
    const r = await killed.result;
    assert.equal(r.status, 0, `killed at "${killedAt}"\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /change\(s\) applied/);

    const state = await projectState();
    assert.deepEqual(state, {
      instances: [`${BTCPAY}:Running`, `${WWW}:Running`],
      profiles: [BTCPAY, WWW],
      volumes: VOLUMES,
      network: true,
      builders: [],
    });
    assert.equal(
      (await lxd.listImageAliases()).filter((a) => a.name.startsWith('ss-docker-')).length,
      1,
      'one weekly base image',
    );
  });

  test('instances answer SSH with the host key pinned through the LXD API, as ubuntu, each with its own key', async () => {
    const known = fs.readFileSync(paths.knownHosts, 'utf8');
    const www = instanceRecord('www');
    const btcpay = instanceRecord('btcpayserver');
    assert.match(www.ssh.host, new RegExp(`^${backend.testBridgeAddress.split('.').slice(0, 3).join('\\.')}\\.\\d+$`));
    assert.equal(www.ssh.user, 'ubuntu');
    assert.notEqual(www.ssh.host, btcpay.ssh.host);
    const keyOf = (host: string) =>
      known
        .split('\n')
        .find((l) => l.startsWith(`${host} `))
        ?.split(' ')[2];
    assert.ok(keyOf(www.ssh.host) && keyOf(btcpay.ssh.host) && keyOf(www.ssh.host) !== keyOf(btcpay.ssh.host));
    const hostKey = (await lxd.withProject(DEPLOYMENT).readInstanceFile(WWW, '/etc/ssh/ssh_host_ed25519_key.pub'))!
      .toString()
      .split(' ')[1];
    assert.equal(keyOf(www.ssh.host), hostKey);
    assert.equal((await onInstance('www', ['hostname'])).trim(), WWW);
    assert.match(
      await onInstance('www', ['stat', '-c', '%U', '/home/ubuntu/ss-data', '/home/ubuntu/backups']),
      /^ubuntu\nubuntu\n$/,
    );
    assert.match(await onInstance('btcpayserver', ['ip', '-o', 'link', 'show', 'enp5s0']), /00:16:3e:5b:00:02/);
  });

  test('a second up changes nothing and says so; --plan and show agree', async () => {
    const before = await projectState();
    const r = ssw(['up', ...upTarget, ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /No changes: the deployment already matched the config\./);
    assert.deepEqual(await projectState(), before);
    const plan = ssw(['up', ...upTarget, '--plan', ...common()]);
    assert.match(plan.stdout, /No changes: the deployment matches the config\./);
    const show = ssw(['show', ...upTarget, '--json', ...common()]);
    assert.equal(show.status, 0, show.stderr);
    const shown = JSON.parse(show.stdout);
    assert.equal(shown.empty, true);
    assert.deepEqual(
      shown.items
        .filter((x: { kind: string }) => x.kind === 'instance')
        .map((x: { name: string; action: string }) => `${x.name}:${x.action}`),
      [`${WWW}:keep`, `${BTCPAY}:keep`],
    );
  });
});

describe('host keys of kept instances', () => {
  const pinnedFingerprint = (host: string) => lookupHostKeys(paths.knownHosts, host, 22)[0]?.fingerprint;

  test('a kept instance whose host key changed: up re-pins it from the LXD API and warns with both fingerprints', async () => {
    const www = instanceRecord('www');
    const before = pinnedFingerprint(www.ssh.host);
    assert.ok(before);
    // Someone regenerates the host key inside the instance (not ssw: it keeps the instance).
    const p = lxd.withProject(DEPLOYMENT);
    const regenerate = () =>
      p.execInstance(WWW, [
        'sh',
        '-c',
        'rm -f /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub && ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key && systemctl restart ssh',
      ]);
    // LXD 5.0 sometimes loses the PID of a command it just started ("Failed to retrieve PID of
    // executing child process"); the command is idempotent, so the test's own setup tries again.
    let regen;
    for (let attempt = 1; ; attempt++) {
      try {
        regen = await regenerate();
        break;
      } catch (err) {
        if (attempt >= 3 || !/Failed to retrieve PID/.test((err as Error).message)) throw err;
      }
    }
    assert.equal(regen.exitCode, 0, regen.stderr);
    const pub = (await p.readInstanceFile(WWW, '/etc/ssh/ssh_host_ed25519_key.pub'))!
      .toString()
      .trim()
      .split(/\s+/)[1]!;
    const after = fingerprintSha256(Buffer.from(pub, 'base64'));
    assert.notEqual(after, before);

    const r = ssw(['up', ...upTarget, ...common()]);
    assert.equal(r.status, 0, r.stderr);
    const warning = r.stdout.split('\n').find((l) => l.startsWith('WARNING: ') && l.includes(WWW));
    assert.ok(warning, r.stdout);
    assert.ok(warning.includes(`was ${before}, now ${after}`), warning);
    assert.doesNotMatch(r.stdout, new RegExp(`WARNING: .*${BTCPAY}`), 'the btcpayserver key did not change');
    assert.equal(pinnedFingerprint(www.ssh.host), after, 'the key LXD shows is the one pinned');
    assert.equal((await onInstance('www', ['hostname'])).trim(), WWW);

    const json = ssw(['up', ...upTarget, '--json', ...common()]);
    assert.equal(json.status, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).result.warnings, undefined, 'no warning once the new key is pinned');
  });

  test('a recreated instance brings a new key without a warning', async () => {
    const www = instanceRecord('www');
    const before = pinnedFingerprint(www.ssh.host);
    // The instance goes behind ssw's back; its old key stays pinned for the address.
    const p = lxd.withProject(DEPLOYMENT);
    await p.setInstanceState(WWW, { action: 'stop', force: true, timeout: 30 });
    await p.deleteInstance(WWW);
    const r = ssw(['up', ...upTarget, '--json', ...common()]);
    assert.equal(r.status, 0, r.stderr);
    const { result } = JSON.parse(r.stdout);
    assert.ok(
      result.changes.some((c: { kind: string; name: string }) => c.kind === 'instance' && c.name === WWW),
      JSON.stringify(result.changes),
    );
    assert.equal(result.warnings, undefined, JSON.stringify(result.warnings));
    assert.notEqual(pinnedFingerprint(instanceRecord('www').ssh.host), before, "the new instance's key is pinned");
    assert.equal((await onInstance('www', ['hostname'])).trim(), WWW);
  });
});

describe('ssw down', () => {
  test('removes instances and profiles, keeps the volumes; up reattaches them with their data', async () => {
    await onInstance('www', ['sh', '-c', 'echo kept-across-down > /home/ubuntu/ss-data/marker']);
    const down = ssw(['down', ...target, ...common()]);
    assert.equal(down.status, 0, down.stderr);
    assert.match(down.stdout, /Kept volumes www-docker, www-ss-data, www-backup/);
    assert.deepEqual(await projectState(), {
      instances: [],
      profiles: [],
      volumes: VOLUMES,
      network: false,
      builders: [],
    });
    assert.ok(!fs.existsSync(paths.instanceRecord(REMOTE, DEPLOYMENT, 'www')), 'the record is gone');

    // While an up runs, a second up attaches to it and a down is refused, naming it.
    // The harness server is no embedded one ssw knows the UI of: the link comes from $SSW_UI_URL.
    const ui = `http://127.0.0.1:${harness().temporal.uiPort}`;
    const detached = ssw(['up', ...upTarget, '--detach', ...common()], { SSW_UI_URL: ui });
    assert.equal(detached.status, 0, detached.stderr);
    assert.ok(
      detached.stdout.includes(`Started up/lab/dep1\nWeb UI: ${ui}/namespaces/ssw-test/workflows/up%2Flab%2Fdep1`),
      detached.stdout,
    );
    const refused = ssw(['down', ...target, ...common()]);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /up\/lab\/dep1/);
    const attached = ssw(['up', ...upTarget, ...common()]);
    assert.equal(attached.status, 0, attached.stderr);
    assert.match(attached.stdout, /Already running; following up\/lab\/dep1/);
    assert.equal((await onInstance('www', ['cat', '/home/ubuntu/ss-data/marker'])).trim(), 'kept-across-down');
  });

  test("down --purge --yes deletes exactly this deployment's volumes, then its project once nothing else is in it", async () => {
    // Something ssw did not make keeps the project: a volume the operator added.
    await lxd
      .withProject(DEPLOYMENT)
      .createStorageVolume('ss-base', { name: 'operator-notes', config: { size: '10MB' } } as never);
    const r = ssw(['down', ...target, '--purge', '--yes', ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Deleted volumes/);
    assert.match(
      r.stdout,
      /Kept the LXD project dep1: it still holds storage-pools\/ss-base\/volumes\/custom\/operator-notes\./,
    );
    assert.deepEqual(await projectState(), {
      instances: [],
      profiles: [],
      volumes: ['operator-notes'],
      network: false,
      builders: [],
    });

    await lxd.withProject(DEPLOYMENT).deleteStorageVolume('ss-base', 'operator-notes');
    const again = ssw(['down', ...target, '--purge', '--yes', ...common()]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /Deleted the LXD project dep1\./);
    assert.equal(await lxd.getProject(DEPLOYMENT), undefined, 'no empty project left behind');
  });
});
