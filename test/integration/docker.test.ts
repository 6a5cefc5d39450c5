import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { MockActivityEnvironment } from '@temporalio/testing';
import * as https from 'node:https';
import { dockerStep, withDocker } from '../../activities/docker/connect';
import { createDockerActivities } from '../../activities/docker';
import { createDeploymentActivities } from '../../activities/deployment';
import { writeRemoteRecord } from '../../common/remotes';
import { transferImages, type ImageTransfer } from '../../activities/docker/images';
import { localDocker } from '../../activities/docker/local';
import { applyStack, execIn, removeStack } from '../../activities/docker/stacks';
import type { SecretRef, StackSpec } from '../../common/stacks/spec';
import { pollUntil } from '../../activities/poll';
import type { LxdClient } from '../../activities/lxd/client';
import { pinHostKey, runChecked, withSsh } from '../../activities/ssh';
import { SsPaths } from '../../common/paths';
import { harness } from '../helpers/harness';
import { isFailure } from '../helpers/failures';
import { harnessLxd } from '../helpers/lxd';
import { TcpRelay } from '../helpers/relay';
import { FailureType } from '../../common/failure-types';
import { DefaultLogger } from '@temporalio/worker';
import { tempSsRoot } from '../helpers/temporal';
import { realClients } from '../../workers/clients';

// The Docker Engine API over SSH (pinned host key, the engine's unix socket forwarded), against the
// harness dockerd through the harness sshd; and the air-gapped image transfer from the harness
// dockerd (this machine's Docker) into the Docker of a real LXD system container.
const paths = new SsPaths(tempSsRoot('ssw-docker-'));
const IMAGE = 'ssw-itest/tiny:1';
let local: Docker;
let target: { host: string; port: number; user: string; privateKeyPath: string };
let savedDockerHost: string | undefined;

/** A tiny image made here (no registry): one file, imported as a rootfs. */
function buildTinyImage(): void {
  const dir = fs.mkdtempSync(path.join(paths.root, 'rootfs-'));
  fs.writeFileSync(path.join(dir, 'hello.txt'), `made by ssw's docker test ${Date.now()}\n`);
  const tar = path.join(paths.root, 'rootfs.tar');
  execFileSync('tar', ['-C', dir, '-cf', tar, '.']);
  execFileSync('docker', ['-H', `unix://${harness().docker.socket}`, 'import', tar, IMAGE], { stdio: 'pipe' });
}

before(() => {
  fs.mkdirSync(path.dirname(paths.knownHosts), { recursive: true });
  fs.writeFileSync(paths.knownHosts, `${harness().ssh.hostKeyLine}\n`);
  target = { host: '127.0.0.1', port: harness().ssh.port, user: 'root', privateKeyPath: harness().ssh.privateKeyPath };
  savedDockerHost = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = `unix://${harness().docker.socket}`;
  local = new Docker({ socketPath: harness().docker.socket });
  buildTinyImage();
});

after(async () => {
  await local
    .getImage(IMAGE)
    .remove({ force: true })
    .catch(() => undefined);
  if (savedDockerHost === undefined) delete process.env.DOCKER_HOST;
  else process.env.DOCKER_HOST = savedDockerHost;
});

describe('Docker over SSH', () => {
  test('the engine answers through the SSH connection; the host key must be the pinned one', async () => {
    const version = await withDocker(paths, target, (d) => d.version(), { socketPath: harness().docker.socket });
    assert.match(version.Version, /^\d+\./);
    const bad = new SsPaths(tempSsRoot('ssw-docker-bad-'));
    fs.mkdirSync(path.dirname(bad.knownHosts), { recursive: true });
    fs.writeFileSync(
      bad.knownHosts,
      `[127.0.0.1]:${harness().ssh.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n`,
    );
    await assert.rejects(
      withDocker(bad, target, (d) => d.version(), { socketPath: harness().docker.socket }),
      /SswHostKeyMismatch|host key/i,
    );
  });
});

describe('air-gapped image transfer into a real instance', () => {
  const NAME = 'ssw-itest-docker';
  let instance: { host: string; port: number; user: string; privateKeyPath: string };
  let lxd: LxdClient;

  before(async () => {
    lxd = harnessLxd();
    await removeInstance();
    // A system container from the harness image on the test bridge, as ssw up makes them (nested Docker).
    await lxd.createInstance({
      name: NAME,
      type: 'container',
      profiles: ['default'],
      config: {
        'security.nesting': 'true',
        'security.syscalls.intercept.mknod': 'true',
        'security.syscalls.intercept.setxattr': 'true',
      },
      devices: { eth0: { type: 'nic', network: harness().lxd.testBridge, name: 'eth0' } },
      source: { type: 'image', alias: harness().lxd.baseImage },
    });
    await lxd.setInstanceState(NAME, { action: 'start' });
    const address = await pollUntil(
      async () =>
        (await lxd.getInstanceState(NAME))?.network?.eth0?.addresses.find(
          (a) => a.family === 'inet' && a.scope === 'global',
        )?.address,
      { timeoutMs: 120_000, what: `${NAME}'s address` },
    );
    const key = fs.readFileSync(`${harness().ssh.privateKeyPath}.pub`);
    await lxd.writeInstanceFile(NAME, '/home/ubuntu/.ssh', { type: 'directory', uid: 1000, gid: 1000, mode: 0o700 });
    await lxd.writeInstanceFile(NAME, '/home/ubuntu/.ssh/authorized_keys', {
      content: key,
      uid: 1000,
      gid: 1000,
      mode: 0o600,
    });
    const hostKey = await pollUntil(async () => lxd.readInstanceFile(NAME, '/etc/ssh/ssh_host_ed25519_key.pub'), {
      timeoutMs: 120_000,
      what: 'its host key',
    });
    pinHostKey(paths.knownHosts, address, 22, Buffer.from(hostKey.toString().split(' ')[1]!, 'base64'));
    instance = { host: address, port: 22, user: 'ubuntu', privateKeyPath: harness().ssh.privateKeyPath };
    await pollUntil(
      async () =>
        withDocker(paths, instance, (d) => d.ping()).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 120_000, what: 'Docker in the instance' },
    );
  });

  /** transferImages as deployStacks runs it: one Docker step (SSH connection) inside an activity. */
  const transfer = (refs: string[], to = instance, env = new MockActivityEnvironment()) =>
    env.run(() =>
      dockerStep('image transfer', paths, to, {}, (s) => transferImages(paths, localDocker(), s, refs)),
    ) as Promise<ImageTransfer[]>;

  const onInstance = (argv: string[]) =>
    withSsh(
      instance,
      { hostKeys: { knownHostsFile: paths.knownHosts, mode: 'pinned' } },
      async ({ client }) => (await runChecked(client, argv, { timeoutMs: 30_000 })).stdout,
    );

  /** A run that was killed may have left it, running. */
  async function removeInstance(): Promise<void> {
    const i = await lxd.getInstance(NAME);
    if (!i) return;
    if (i.status !== 'Stopped') await lxd.setInstanceState(NAME, { action: 'stop', force: true, timeout: 30 });
    await lxd.deleteInstance(NAME);
  }

  after(async () => {
    await removeInstance();
    lxd.close();
  });

  test('an image the instance lacks is saved here, uploaded (SFTP) and loaded; then it is skipped as present (same image ID)', async () => {
    const id = (await local.getImage(IMAGE).inspect()).Id;
    const first = await transfer([IMAGE]);
    assert.equal(first[0]!.action, 'loaded');
    assert.equal(first[0]!.id, id);
    assert.ok(first[0]!.bytesSent > 0);
    assert.ok(
      fs.existsSync(path.join(paths.root, 'cache', 'images', `${id.replace(/^sha256:/, '')}.tar`)),
      'cached here',
    );
    assert.equal(await withDocker(paths, instance, async (d) => (await d.getImage(IMAGE).inspect()).Id), id);
    const again = await transfer([IMAGE]);
    assert.deepEqual(
      again.map((t) => [t.action, t.bytesSent]),
      [['present', 0]],
    );
    assert.equal(
      (await lxd.execInstance(NAME, ['sh', '-c', 'ls /var/tmp/ssw-images | wc -l'])).stdout.trim(),
      '0',
      'no tarball left on the instance',
    );
  });

  test('an image this machine does not have is a final error naming it', async () => {
    await assert.rejects(transfer(['ssw-itest/absent:1']), /ssw-itest\/absent:1 is not in this machine's Docker/);
  });

  test(
    'a network cut mid-upload fails the attempt as stalled; the retry resumes from the partial file, byte-identical, and the image loads',
    { timeout: 180_000 },
    async () => {
      // An image big enough that the cut lands mid-upload (incompressible, so it is all on the wire).
      const BIG = 'ssw-itest/big:1';
      const dir = fs.mkdtempSync(path.join(paths.root, 'big-'));
      fs.writeFileSync(path.join(dir, 'noise.bin'), crypto.randomBytes(24 * 1024 * 1024));
      const tar = path.join(paths.root, 'big.tar');
      execFileSync('tar', ['-C', dir, '-cf', tar, '.']);
      execFileSync('docker', ['-H', `unix://${harness().docker.socket}`, 'import', tar, BIG], { stdio: 'pipe' });
      const id = (await local.getImage(BIG).inspect()).Id;
      // A loopback relay in front of the instance's sshd: the same host key, pinned for the relay's address.
      const relay = await TcpRelay.start(22, instance.host);
      try {
        const hostKey = (await lxd.readInstanceFile(NAME, '/etc/ssh/ssh_host_ed25519_key.pub'))!;
        pinHostKey(paths.knownHosts, '127.0.0.1', relay.port, Buffer.from(hostKey.toString().split(' ')[1]!, 'base64'));
        const first = new MockActivityEnvironment(
          { attempt: 1, heartbeatTimeoutMs: 2_000 },
          { logger: new DefaultLogger('WARN') },
        );
        let cut = false;
        first.on('heartbeat', (d: { phase?: string; bytesDone?: number }) => {
          if (!cut && d?.phase === 'uploading' && (d.bytesDone ?? 0) > 4 * 1024 * 1024) {
            cut = true;
            relay.freeze(); // no FIN, no data: only the stall limit (or, much later, keepalives) notices
          }
        });
        await assert.rejects(
          transfer([BIG], { ...instance, host: '127.0.0.1', port: relay.port }, first),
          isFailure(FailureType.Stalled, false, /made no progress for 1\.5 s/),
        );
        assert.ok(cut, 'the connection was cut mid-upload');
        const tarball = path.join(paths.root, 'cache', 'images', `${id.replace(/^sha256:/, '')}.tar`);
        const size = fs.statSync(tarball).size;
        const partial = Number(
          (
            await lxd.execInstance(NAME, ['stat', '-c', '%s', `/var/tmp/ssw-images/${path.basename(tarball)}.partial`])
          ).stdout.trim(),
        );
        assert.ok(partial > 4 * 1024 * 1024 && partial < size, `the partial file holds ${partial} of ${size} bytes`);

        const second = await transfer(
          [BIG],
          instance,
          new MockActivityEnvironment({ attempt: 2, heartbeatTimeoutMs: 2_000 }),
        );
        assert.deepEqual(
          second.map((t) => [t.action, t.id, t.bytesResumed, t.bytesResumed + t.bytesSent]),
          [['loaded', id, partial, size]],
        );
        // uploadFile checked the sha256 of the whole file before publishing it; docker load then took it as the very
        // image.
        assert.equal(await withDocker(paths, instance, async (d) => (await d.getImage(BIG).inspect()).Id), id);
        assert.equal(
          (await lxd.execInstance(NAME, ['sh', '-c', 'ls /var/tmp/ssw-images | wc -l'])).stdout.trim(),
          '0',
          'no tarball or partial file left',
        );
      } finally {
        await relay.close();
        await local
          .getImage(BIG)
          .remove({ force: true })
          .catch(() => undefined);
        await withDocker(paths, instance, (d) => d.getImage(BIG).remove({ force: true })).catch(() => undefined);
      }
    },
  );

  test(
    'a deployment SSH step whose host freezes mid-command fails as stalled within the stall limit (prepareDataPaths)',
    { timeout: 120_000 },
    async () => {
      // A remote record for instanceTarget (only its SSH key is used), and a sudo that waits on the instance,
      // so the connection can be frozen while the command runs: each session's sshd processes stopped (SIGSTOP),
      // the TCP connection left open, as a hung host leaves it.
      writeRemoteRecord(paths, {
        name: 'deadlab',
        ssh: { host: '127.0.0.1', port: 1, user: 'ubuntu', privateKeyPath: harness().ssh.privateKeyPath },
        backend: 'lxd',
        version: '5.0',
        endpoint: 'https://127.0.0.1:1',
        serverCertPem: '-----BEGIN CERTIFICATE-----\nunused\n-----END CERTIFICATE-----\n',
        serverFingerprint: '0'.repeat(64),
        disk: '',
        dataPlaneInterface: '',
        provisionedAt: new Date().toISOString(),
      });
      const marker = '/tmp/ssw-slow-sudo-started';
      await lxd.execInstance(NAME, [
        'sh',
        '-c',
        `rm -f ${marker}; printf '#!/bin/sh\\n: > ${marker}\\nsleep 20\\nexec /usr/bin/sudo "$@"\\n' > /usr/local/bin/sudo; chmod 755 /usr/local/bin/sudo`,
      ]);
      let stopped = '';
      try {
        const env = new MockActivityEnvironment(
          { attempt: 1, heartbeatTimeoutMs: 2_000 },
          { logger: new DefaultLogger('WARN') },
        );
        const run = env.run(
          createDeploymentActivities({ paths, ...realClients(paths) }).prepareDataPaths,
          'deadlab',
          instance.host,
          'www' as const,
        );
        run.catch(() => undefined);
        await pollUntil(async () => (await lxd.execInstance(NAME, ['test', '-e', marker])).exitCode === 0, {
          timeoutMs: 30_000,
          what: 'the command to start on the instance',
        });
        // The per-connection sshd processes (children of the listener) and their children: the sessions serving ssw, by
        // PID.
        stopped = (
          await lxd.execInstance(NAME, [
            'sh',
            '-c',
            'l=$(cat /run/sshd.pid); for p in $(cat /proc/$l/task/*/children); do echo $p $(cat /proc/$p/task/*/children); done | tr "\\n" " "; ',
          ])
        ).stdout.trim();
        assert.ok(stopped, 'found the sshd serving the connection');
        await lxd.execInstance(NAME, ['sh', '-c', `kill -STOP ${stopped}`]);
        await assert.rejects(
          run,
          isFailure(FailureType.Stalled, false, /preparing the data paths of .* made no progress for 1\.5 s/),
        );
      } finally {
        if (stopped) await lxd.execInstance(NAME, ['sh', '-c', `kill -KILL ${stopped}`]);
        await lxd.execInstance(NAME, ['rm', '-f', '/usr/local/bin/sudo', marker]);
      }
    },
  );

  describe('the services of a www instance: proxy and apps from the config, over HTTPS', () => {
    const REMOTE = 'lab';
    const DEPLOYMENT = 'svc';
    const SITE = 'svc.example';
    const env = new MockActivityEnvironment();
    const activities = () => createDockerActivities({ paths, ...realClients(paths) });
    const run = <A extends unknown[], R>(fn: (...a: A) => Promise<R>, ...args: A): Promise<R> => env.run(fn, ...args);
    const deploy = (which: 'proxy' | 'apps') => run(activities().deployStacks, REMOTE, DEPLOYMENT, which);
    // Every secret site.conf holds: none may show in a container's configuration but where documented.
    const SECRETS = {
      GHOST_MYSQL_PASSWORD: 'svc-ghost-pw',
      GHOST_MYSQL_ROOT_PASSWORD: 'svc-ghost-root',
      NEXTCLOUD_MYSQL_PASSWORD: 'svc-nextcloud-pw',
      NEXTCLOUD_MYSQL_ROOT_PASSWORD: 'svc-nextcloud-root',
      GITEA_MYSQL_PASSWORD: 'svc-gitea-pw',
      GITEA_MYSQL_ROOT_PASSWORD: 'svc-gitea-root',
      DUPLICITY_BACKUP_PASSPHRASE: 'svc-passphrase',
    };

    // Nextcloud's MariaDB runs with server options as its command: the stand-in, as its entrypoint, takes and ignores
    // them.
    const STANDIN_WITH_ARGS = 'ssw-itest/standin-entrypoint:1';

    after(async () => {
      await local
        .getImage(STANDIN_WITH_ARGS)
        .remove({ force: true })
        .catch(() => undefined);
    });

    before(async () => {
      execFileSync('docker', ['-H', `unix://${harness().docker.socket}`, 'build', '-q', '-t', STANDIN_WITH_ARGS, '-'], {
        input: 'FROM ssw-test-standin:1\nENTRYPOINT ["/bin/standin"]\nCMD []\n',
        env: { ...process.env, DOCKER_BUILDKIT: '0' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      fs.mkdirSync(path.dirname(paths.remoteConf(REMOTE)), { recursive: true });
      fs.writeFileSync(
        paths.remoteConf(REMOTE),
        `DEPLOYMENT_STRING="(${DEPLOYMENT}|regtest)"\nIMAGE_SOURCE=airgapped\n`,
      );
      fs.mkdirSync(path.dirname(paths.projectConf(DEPLOYMENT)), { recursive: true });
      fs.writeFileSync(
        paths.projectConf(DEPLOYMENT),
        [
          `PRIMARY_DOMAIN=${SITE}`,
          'NGINX_IMAGE=ssw-test-nginx:1',
          ...['GHOST', 'GHOST_DB', 'NEXTCLOUD', 'GITEA', 'GITEA_DB', 'NOSTR_RELAY'].map(
            (k) => `${k}_IMAGE=ssw-test-standin:1`,
          ),
          `NEXTCLOUD_DB_IMAGE=${STANDIN_WITH_ARGS}`,
          '',
        ].join('\n'),
      );
      fs.mkdirSync(paths.siteDir(SITE), { recursive: true });
      fs.writeFileSync(
        paths.siteConf(SITE),
        [
          `DOMAIN_NAME=${SITE}`,
          'SITE_LANGUAGE_CODES=en,es',
          'DEPLOY_GHOST=true',
          'DEPLOY_NEXTCLOUD=true',
          'DEPLOY_GITEA=true',
          ...Object.entries(SECRETS).map(([k, v]) => `${k}=${v}`),
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      const rec = paths.instanceRecord(REMOTE, DEPLOYMENT, 'www');
      fs.mkdirSync(path.dirname(rec), { recursive: true });
      fs.writeFileSync(rec, JSON.stringify({ ssh: instance, dataPath: '/home/ubuntu/ss-data' }));
      // The site's certificate where certbot puts it (a self-signed one made here, for every name).
      const dir = fs.mkdtempSync(path.join(paths.root, 'cert-'));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-days',
          '2',
          '-subj',
          `/CN=${SITE}`,
          '-addext',
          `subjectAltName=DNS:${SITE},DNS:www.${SITE},DNS:git.${SITE},DNS:btcpay.${SITE}`,
          '-keyout',
          path.join(dir, 'privkey.pem'),
          '-out',
          path.join(dir, 'fullchain.pem'),
        ],
        { stdio: 'pipe' },
      );
      const live = `/home/ubuntu/ss-data/letsencrypt/${SITE}/live/${SITE}`;
      await onInstance(['mkdir', '-p', live]);
      for (const f of ['privkey.pem', 'fullchain.pem']) {
        await withSsh(instance, { hostKeys: { knownHostsFile: paths.knownHosts, mode: 'pinned' } }, ({ client }) =>
          runChecked(client, ['sh', '-c', 'cat > "$1"', 'sh', `${live}/${f}`], {
            stdin: fs.readFileSync(path.join(dir, f)),
            timeoutMs: 30_000,
          }),
        );
      }
      certPem = fs.readFileSync(path.join(dir, 'fullchain.pem'), 'utf8');
    });

    let certPem = '';
    /** An HTTPS request to the instance's proxy, verified against the site's certificate. */
    function httpsGet(host: string, urlPath: string): Promise<{ status: number; body: string }> {
      return new Promise((resolve, reject) => {
        const req = https.get(
          {
            host: instance.host,
            port: 443,
            path: urlPath,
            servername: host,
            headers: { Host: host },
            ca: certPem,
            timeout: 10_000,
          },
          (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
      });
    }

    test('the proxy, then the apps: every container healthy, every site answering through nginx, each language on its path', async () => {
      const proxy = await deploy('proxy');
      assert.deepEqual(
        proxy.stacks.map((x) => [x.stack, x.created]),
        [['reverse-proxy', ['reverse-proxy']]],
      );
      const apps = await deploy('apps');
      assert.deepEqual(
        apps.stacks.map((x) => x.stack.replace(/^[0-9a-f]{6}-/, '')),
        ['ghost-en', 'ghost-es', 'nextcloud-en', 'gitea-en'],
      );
      const served = await run(activities().checkSitesServed, REMOTE, DEPLOYMENT);
      assert.deepEqual(
        served.map((x) => x.status),
        [301, 301],
      );

      const en = await httpsGet(`www.${SITE}`, '/');
      assert.equal(en.status, 200);
      assert.match(en.body, new RegExp(`url=https://www\\.${SITE.replace('.', '\\.')}$`, 'm'));
      const es = await httpsGet(`www.${SITE}`, '/es/');
      assert.match(es.body, /url=https:\/\/www\.svc\.example\/es/);
      assert.match((await httpsGet(`git.${SITE}`, '/')).body, /ssw stand-in: gitea-/);
      assert.equal((await httpsGet(SITE, '/')).status, 301);
      assert.equal((await httpsGet(`btcpay.${SITE}`, '/')).status, 503, 'no btcpayserver instance yet');
    });

    /** Runs a command in a container as `user` (a uid): exit code and output. */
    const execAs = (d: Docker, container: string, user: string, cmd: string[]) => execIn(d, container, cmd, user);

    test("no site.conf secret in any container's configuration but Ghost's database password (its image reads no file); each container reads its own from a 0400 file as its image's user, mounted read-only", async () => {
      const values = Object.values(SECRETS);
      // What each *_FILE must hold, by container kind, and the uid the image reads it as.
      const expected: Record<string, { uid: string; files: Record<string, string> }> = {
        ghostdb: {
          uid: '999',
          files: {
            MYSQL_ROOT_PASSWORD_FILE: SECRETS.GHOST_MYSQL_ROOT_PASSWORD,
            MYSQL_PASSWORD_FILE: SECRETS.GHOST_MYSQL_PASSWORD,
          },
        },
        nextclouddb: {
          uid: '999',
          files: {
            MARIADB_ROOT_PASSWORD_FILE: SECRETS.NEXTCLOUD_MYSQL_ROOT_PASSWORD,
            MYSQL_PASSWORD_FILE: SECRETS.NEXTCLOUD_MYSQL_PASSWORD,
          },
        },
        nextcloud: {
          uid: '33',
          files: {
            MYSQL_PASSWORD_FILE: SECRETS.NEXTCLOUD_MYSQL_PASSWORD,
            MYSQL_DATABASE_FILE: 'nextcloud',
            MYSQL_USER_FILE: 'nextcloud',
          },
        },
        giteadb: {
          uid: '999',
          files: {
            MARIADB_ROOT_PASSWORD_FILE: SECRETS.GITEA_MYSQL_ROOT_PASSWORD,
            MYSQL_PASSWORD_FILE: SECRETS.GITEA_MYSQL_PASSWORD,
          },
        },
        gitea: { uid: '1000', files: { GITEA__database__PASSWD__FILE: SECRETS.GITEA_MYSQL_PASSWORD } },
      };
      await withDocker(paths, instance, async (d) => {
        const containers = await d.listContainers({ all: true });
        assert.equal(
          containers.length,
          9,
          'the proxy, two Ghosts and two MySQLs, Nextcloud and Gitea with their MariaDBs',
        );
        const exceptions: string[] = [];
        for (const x of containers) {
          const info = await d.getContainer(x.Id).inspect();
          const name = info.Name.replace(/^\//, '');
          const env = info.Config.Env ?? []; // null for a container without any
          for (const e of env) {
            if (!values.some((v) => e.includes(v))) continue;
            assert.ok(
              /^ghost-/.test(name) && e === `database__connection__password=${SECRETS.GHOST_MYSQL_PASSWORD}`,
              `${name}'s environment holds a secret in ${e.split('=')[0]}`,
            );
            exceptions.push(name);
          }
          const elsewhere = JSON.stringify({
            cmd: info.Config.Cmd,
            args: info.Args,
            entrypoint: info.Config.Entrypoint,
            labels: info.Config.Labels,
            binds: info.HostConfig.Binds,
          });
          assert.ok(!values.some((v) => elsewhere.includes(v)), `${name}: a secret in its command, labels or mounts`);

          const want = expected[name.split('-')[0]!];
          const fileVars = env.filter((e) => /^[A-Za-z_]+_FILE=/.test(e)).map((e) => e.split('=') as [string, string]);
          assert.deepEqual(
            fileVars.map(([k]) => k).sort(),
            Object.keys(want?.files ?? {}).sort(),
            `${name}'s *_FILE variables`,
          );
          if (!want) continue;
          assert.ok(
            info.Mounts.some((m) => m.Destination === '/run/secrets' && m.RW === false),
            `${name}: its secrets are mounted read-only`,
          );
          for (const [k, file] of fileVars) {
            assert.equal(
              (await execAs(d, name, want.uid, ['cat', file])).output,
              want.files[k],
              `${name} reads ${k} as uid ${want.uid}`,
            );
            assert.equal(
              (await execAs(d, name, '0', ['/bin/busybox', 'stat', '-c', '%u %a', file])).output,
              `${want.uid} 400`,
              `${name} ${file}`,
            );
            assert.notEqual(
              (await execAs(d, name, '4242', ['cat', file])).exitCode,
              0,
              `${name}: another uid cannot read ${file}`,
            );
          }
        }
        assert.deepEqual(
          exceptions.sort(),
          containers
            .map((c) => c.Names[0]!.replace(/^\//, ''))
            .filter((n) => /^ghost-/.test(n))
            .sort(),
          'each Ghost, and only Ghost, has its password in its environment',
        );
      });
      // On the instance: the secrets' directory is root's alone.
      assert.equal(
        (await onInstance(['sudo', '-n', 'stat', '-c', '%U %a', '/home/ubuntu/ss-data/.ssw/secrets'])).trim(),
        'root 700',
      );
    });

    test('deployed again: nothing recreated', async () => {
      const apps = await deploy('apps');
      assert.ok(
        apps.stacks.every((x) => x.created.length === 0 && x.replaced.length === 0),
        JSON.stringify(apps.stacks),
      );
      assert.ok(apps.images.every((i) => i.action === 'present'));
    });

    test('removing the stacks leaves the instance without containers, and without their secrets', async () => {
      await run(activities().removeStacks, REMOTE, DEPLOYMENT, 'all');
      assert.deepEqual(await withDocker(paths, instance, (d) => d.listContainers({ all: true })), []);
      assert.equal((await onInstance(['sudo', '-n', 'ls', '-A', '/home/ubuntu/ss-data/.ssw/secrets'])).trim(), '');
    });
  });

  describe('stacks', () => {
    const WEB = 'ssw-itest/web:1';
    const secrets: Record<string, string> = { TOKEN: 'stack-secret-value' };
    const resolve = (ref: SecretRef) => secrets[ref.secret]!;
    const spec = (greeting: string): StackSpec => ({
      name: 'itest-web',
      networks: ['itest-net'],
      directories: [],
      containers: [
        {
          name: 'itest-web',
          image: WEB,
          env: { GREETING: greeting, TOKEN: { secret: 'TOKEN', domain: 'example.test' } },
          volumes: [],
          networks: [{ name: 'itest-net', aliases: ['itest-web'] }],
          healthcheck: {
            test: ['CMD', '/bin/busybox', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:2368/'],
            intervalS: 1,
            timeoutS: 2,
            retries: 3,
            startPeriodS: 0,
          },
          startBeforeStop: true,
        },
      ],
    });

    before(async () => {
      // A stand-in web app: busybox's httpd in an image made here from Debian's static busybox.
      const dir = fs.mkdtempSync(path.join(paths.root, 'web-'));
      fs.mkdirSync(path.join(dir, 'bin'));
      fs.mkdirSync(path.join(dir, 'www'));
      fs.copyFileSync('/bin/busybox', path.join(dir, 'bin', 'busybox'));
      fs.chmodSync(path.join(dir, 'bin', 'busybox'), 0o755);
      fs.writeFileSync(path.join(dir, 'www', 'index.html'), 'stand-in app\n');
      const tar = path.join(paths.root, 'web.tar');
      execFileSync('tar', ['-C', dir, '-cf', tar, '.']);
      execFileSync(
        'docker',
        [
          '-H',
          `unix://${harness().docker.socket}`,
          'import',
          '--change',
          'CMD ["/bin/busybox","httpd","-f","-p","2368","-h","/www"]',
          tar,
          WEB,
        ],
        { stdio: 'pipe' },
      );
      await transfer([WEB]);
    });
    after(async () => {
      await local
        .getImage(WEB)
        .remove({ force: true })
        .catch(() => undefined);
    });

    test('created, running and healthy, answering on its alias, with the secret resolved only in the container', async () => {
      const r = await withDocker(paths, instance, (d) => applyStack(d, spec('one'), resolve, { timeoutMs: 60_000 }));
      assert.deepEqual([r.networksCreated, r.created], [['itest-net'], ['itest-web']]);
      const info = await withDocker(paths, instance, (d) => d.getContainer('itest-web').inspect());
      // Ready when its own health check passes: run by ssw at once rather than after Docker's first interval.
      assert.ok(['starting', 'healthy'].includes(info.State.Health?.Status ?? ''), info.State.Health?.Status);
      assert.ok(info.Config.Env.includes('TOKEN=stack-secret-value'));
      assert.equal(info.HostConfig.RestartPolicy?.Name, 'unless-stopped');
      assert.equal(
        await onInstance([
          'docker',
          'exec',
          'itest-web',
          '/bin/busybox',
          'wget',
          '-q',
          '-O',
          '-',
          'http://itest-web:2368/',
        ]),
        'stand-in app\n',
      );
      assert.doesNotMatch(JSON.stringify(spec('one')), /stack-secret-value/);
    });

    test('applied again: left alone (same container)', async () => {
      const before = await withDocker(paths, instance, (d) => d.getContainer('itest-web').inspect());
      const r = await withDocker(paths, instance, (d) => applyStack(d, spec('one'), resolve, { timeoutMs: 60_000 }));
      assert.deepEqual([r.created, r.replaced, r.unchanged], [[], [], ['itest-web']]);
      assert.equal((await withDocker(paths, instance, (d) => d.getContainer('itest-web').inspect())).Id, before.Id);
    });

    test('changed: a new container started and healthy before the old one goes, then it takes the name', async () => {
      const before = await withDocker(paths, instance, (d) => d.getContainer('itest-web').inspect());
      const r = await withDocker(paths, instance, (d) => applyStack(d, spec('two'), resolve, { timeoutMs: 60_000 }));
      assert.deepEqual(r.replaced, ['itest-web']);
      const names = await withDocker(paths, instance, async (d) =>
        (await d.listContainers({ all: true })).map((c) => c.Names[0]),
      );
      assert.deepEqual(names, ['/itest-web']);
      const after = await withDocker(paths, instance, (d) => d.getContainer('itest-web').inspect());
      assert.notEqual(after.Id, before.Id);
      assert.ok(after.Config.Env.includes('GREETING=two'));
      assert.ok(['starting', 'healthy'].includes(after.State.Health?.Status ?? ''), after.State.Health?.Status);
    });

    test('removed: its containers and networks go', async () => {
      const r = await withDocker(paths, instance, (d) => removeStack(d, 'itest-web'));
      assert.deepEqual(r, { containers: ['itest-web'], networks: ['itest-net'] });
      assert.deepEqual(await withDocker(paths, instance, (d) => d.listContainers({ all: true })), []);
    });
  });
});
