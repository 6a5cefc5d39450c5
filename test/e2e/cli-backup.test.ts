import { harnessCliArgs } from '../helpers/suite-args';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { fingerprintSha256 } from '../../common/known-hosts';
import { AesGcmPayloadCodec } from '../../common/codec/aes-gcm-codec';
import { loadOrCreateKeyring } from '../../common/codec/keyring';
import { SsPaths } from '../../common/paths';
import { LongRunning, sswAsync, startService, stopService } from '../helpers/cli';
import { harness } from '../helpers/harness';
import { TcpRelay } from '../helpers/relay';
import { tempSsRoot, uniqueTaskQueue, waitFor } from '../helpers/temporal';
import { treeDigest, writeAppData } from '../helpers/tree';

// `ssw backup` / `ssw restore` / `ssw backup verify|list` through the real CLI and real workers:
// duplicity on the harness SSH host, archives pulled to and pushed from this machine over SFTP.
// Workers are SIGKILLed in the middle of a large transfer and of a restore.
const root = tempSsRoot('ssw-backup-e2e-');
const paths = new SsPaths(path.join(root, 'ss'));
const dataPath = path.join(root, 'data');
const backupPath = path.join(root, 'backups');
const offsitePath = path.join(root, 'offsite'); // the "other data center": the harness sshd again, another directory
const DOMAIN = 'vault.test';
const PASSPHRASE = 'e2e-backup-passphrase-must-not-leak';
const BIG = 120 * 1024 * 1024; // nextcloud's data: large enough to interrupt its transfer
const taskQueue = uniqueTaskQueue('backup');
const common = () => harnessCliArgs(paths.root, taskQueue);
const hostKey = fingerprintSha256(
  Buffer.from(fs.readFileSync(harness().ssh.hostPublicKeyPath, 'utf8').trim().split(/\s+/)[1]!, 'base64'),
);
const target = (port = harness().ssh.port) => [
  '--host',
  '127.0.0.1',
  '--ssh-port',
  String(port),
  '--ssh-key',
  harness().ssh.privateKeyPath,
  '--domain',
  DOMAIN,
  '--data-path',
  dataPath,
  '--backup-path',
  backupPath,
];
const source = (app: string) => path.join(dataPath, app, DOMAIN);
const archive = (app: string) => path.join(backupPath, 'www', app, DOMAIN);
const localCopy = (app: string) => path.join(paths.siteDir(DOMAIN), 'backups', 'www', app);
const NO_STACK = /\n\s+at .+:\d+:\d+/;

let worker: LongRunning;
const workerLogs: string[] = [];
const psLines: string[] = [];
let psSampler: NodeJS.Timeout | undefined;
let firstTrees: Record<string, Record<string, string>>;
let firstTime: string;
const measured: Record<string, number> = {};

function writeSite(passphrase: string): void {
  fs.mkdirSync(paths.siteDir(DOMAIN), { recursive: true });
  const conf = [
    `DOMAIN_NAME=${DOMAIN}`,
    'DEPLOY_NEXTCLOUD=true',
    'BACKUP_KEEP_DAYS=0',
    `DUPLICITY_BACKUP_PASSPHRASE=${passphrase}`,
    'BACKUP_OFFSITE_REMOTE=offsite',
    `BACKUP_OFFSITE_PATH=${offsitePath}`,
    'GHOST_MYSQL_PASSWORD=g1',
    'GHOST_MYSQL_ROOT_PASSWORD=g2',
    'NEXTCLOUD_MYSQL_PASSWORD=n1',
    'NEXTCLOUD_MYSQL_ROOT_PASSWORD=n2',
  ];
  fs.writeFileSync(paths.siteConf(DOMAIN), conf.join('\n') + '\n', { mode: 0o600 });
}

async function startWorker(): Promise<void> {
  worker = await startService(['worker', ...common()], /Worker polling/);
}

/** SIGKILL to the worker's whole process group: no graceful shutdown, no last heartbeat. */
async function killWorker(): Promise<void> {
  workerLogs.push(worker.output());
  process.kill(-worker.child.pid!, 'SIGKILL');
  await worker.exited;
}

async function history(workflowId: string, runId?: string) {
  const connection = await Connection.connect({ address: harness().temporal.address });
  try {
    const raw = new Client({ connection, namespace: harness().temporal.namespace }); // no codec: what the server stores
    return await raw.workflow.getHandle(workflowId, runId).fetchHistory();
  } finally {
    await connection.close();
  }
}

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/**
 * The scheduled activities of a run named `type`, with the attempt that finished each and the
 * failure of the attempt before it (failure messages are encrypted in the history: decoded here
 * with the payload key, as the Web UI's codec server would).
 */
async function activityRuns(workflowId: string, type: string) {
  const events = (await history(workflowId)).events ?? [];
  const E = temporal.api.enums.v1.EventType;
  const codec = new AesGcmPayloadCodec(loadOrCreateKeyring(paths.payloadKey));
  const runs: Array<{ attempt: number; lastFailure: string }> = [];
  for (const scheduled of events.filter(
    (e) =>
      e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
      e.activityTaskScheduledEventAttributes?.activityType?.name === type,
  )) {
    const started = events.find(
      (e) =>
        e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_STARTED &&
        Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === Number(scheduled.eventId),
    );
    const attrs = started?.activityTaskStartedEventAttributes;
    let lastFailure = attrs?.lastFailure?.message ?? '';
    if (attrs?.lastFailure?.encodedAttributes) {
      const [decoded] = await codec.decode([attrs.lastFailure.encodedAttributes as Payload]);
      lastFailure = (defaultPayloadConverter.fromPayload(decoded!) as { message?: string }).message ?? lastFailure;
    }
    runs.push({ attempt: attrs?.attempt ?? 0, lastFailure });
  }
  return runs;
}

/** Every archive file of `app` on the host is here, byte-identical. */
function assertCopiesIdentical(app: string): void {
  for (const f of fs.readdirSync(archive(app)))
    assert.equal(sha(path.join(localCopy(app), f)), sha(path.join(archive(app), f)), `${app}/${f}`);
}

before(async () => {
  // A remote of this machine as ssw records it (only its SSH part matters here).
  fs.mkdirSync(paths.remoteDir('offsite'), { recursive: true });
  fs.writeFileSync(
    paths.remoteRecord('offsite'),
    JSON.stringify({
      name: 'offsite',
      ssh: { host: '127.0.0.1', port: harness().ssh.port, user: 'root', privateKeyPath: harness().ssh.privateKeyPath },
    }),
  );
  writeSite(PASSPHRASE);
  writeAppData(source('ghost'));
  writeAppData(source('nextcloud'), 64 * 1024);
  // Incompressible, so the archive is as large as the data.
  const fd = fs.openSync(path.join(source('nextcloud'), 'big.bin'), 'w');
  for (let i = 0; i < BIG / (8 * 1024 * 1024); i++) fs.writeSync(fd, crypto.randomBytes(8 * 1024 * 1024));
  fs.closeSync(fd);
  await startWorker();
  // Everything the host's process list shows while the tests run (the host is this machine).
  psSampler = setInterval(
    () =>
      execFile('ps', ['-eo', 'args'], (_e, out) =>
        psLines.push(
          ...String(out)
            .split('\n')
            .filter((l) => l.includes('duplicity') || l.includes(PASSPHRASE)),
        ),
      ),
    100,
  );
});

after(async () => {
  if (psSampler) clearInterval(psSampler);
  await stopService(worker);
});

describe('ssw backup', () => {
  test('a first backup survives a worker killed in the middle of copying a large archive, and re-sends nothing', async () => {
    const pin = await sswAsync(['backup', ...target(), '--pin-host-key', hostKey, '--app', 'ghost', ...common()]);
    assert.equal(pin.status, 0, pin.stderr);
    firstTrees = { ghost: treeDigest(source('ghost')), nextcloud: treeDigest(source('nextcloud')) };

    const running = sswAsync(['backup', ...target(), '--json', ...common()]);
    // Wait until the big volume is partly copied here, then kill the worker.
    const partial = await waitFor(
      'a partial copy of the large volume',
      () => {
        if (!fs.existsSync(localCopy('nextcloud'))) return undefined;
        const p = fs.readdirSync(localCopy('nextcloud')).find((n) => n.endsWith('.partial') && n.includes('.difftar.'));
        if (!p) return undefined;
        const size = fs.statSync(path.join(localCopy('nextcloud'), p)).size;
        return size > 8 * 1024 * 1024 ? { name: p, size } : undefined;
      },
      180_000,
      10,
    );
    await killWorker();
    const atKill = fs.statSync(path.join(localCopy('nextcloud'), partial.name)).size;
    await startWorker();
    const r = await running;
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const nc = out.result.apps.find((a: { app: string }) => a.app === 'nextcloud');
    assert.equal(nc.kind, 'full');
    const volume = partial.name.replace(/\.partial$/, '');
    const volumeSize = fs.statSync(path.join(archive('nextcloud'), volume)).size;
    assert.ok(nc.resumedBytes >= atKill, `resumed from ${nc.resumedBytes}, ${atKill} bytes were there at the kill`);
    assert.ok(nc.pulledBytes <= nc.archiveBytes - atKill, 'the bytes copied before the kill were not sent again');
    measured.volumeBytes = volumeSize;
    measured.bytesAtKill = atKill;
    measured.resumedBytes = nc.resumedBytes;
    measured.sentAfterResume = nc.pulledBytes;
    // Every archive file here is byte-identical to the host's.
    for (const app of ['ghost', 'nextcloud', 'letsencrypt']) {
      if (!fs.existsSync(archive(app))) continue;
      for (const f of fs.readdirSync(archive(app)))
        assert.equal(sha(path.join(localCopy(app), f)), sha(path.join(archive(app), f)), `${app}/${f}`);
    }
    // The second copy, off-site, is identical too.
    assert.equal(nc.offsite.remote, 'offsite');
    for (const app of ['ghost', 'nextcloud']) {
      for (const f of fs.readdirSync(archive(app)))
        assert.equal(
          sha(path.join(offsitePath, DOMAIN, app, f)),
          sha(path.join(archive(app), f)),
          `off-site ${app}/${f}`,
        );
    }
    const letsencrypt = out.result.apps.find((a: { app: string }) => a.app === 'letsencrypt');
    assert.equal(letsencrypt, undefined, 'no certificate yet: nothing to back up, not an error');
    firstTime = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  });

  test('a second backup is incremental', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // duplicity's times have one-second resolution
    fs.appendFileSync(path.join(source('ghost'), 'content', 'post.md'), 'Edited after the first backup.\n');
    fs.writeFileSync(path.join(source('ghost'), 'content', 'images', 'added.bin'), crypto.randomBytes(100_000));
    fs.rmSync(path.join(source('nextcloud'), 'config.json'));
    const r = await sswAsync(['backup', ...target(), '--json', ...common()]);
    assert.equal(r.status, 0, r.stderr);
    const apps = JSON.parse(r.stdout).result.apps;
    assert.deepEqual(
      apps.map((a: { app: string; kind: string }) => [a.app, a.kind]),
      [
        ['ghost', 'incremental'],
        ['nextcloud', 'incremental'],
      ],
    );
    assert.ok(apps[1].pulledBytes < 10 * 1024 * 1024, 'only the increment is copied');
    const list = JSON.parse(
      (await sswAsync(['backup', 'list', '--domain', DOMAIN, '--json', ...common()])).stdout,
    ).backups;
    const ghost = list.find((b: { app: string }) => b.app === 'ghost');
    assert.equal(ghost.chains.length, 1);
    assert.equal(ghost.chains[0].incrementals.length, 2, 'the --app ghost backup, then this one');
  });

  test('a backup whose network is cut mid-duplicity and mid-copy retries both steps and ends byte-identical', async () => {
    // The worker reaches the host through a relay that freezes its connections (no FIN, no data):
    // each step stalls, fails its attempt within the stall limit, and the retry reconnects.
    const relay = await TcpRelay.start(harness().ssh.port);
    try {
      fs.rmSync(localCopy('nextcloud'), { recursive: true, force: true }); // so the large volume is copied again
      // Enough new data that duplicity is still at work when the cut comes.
      fs.writeFileSync(
        path.join(source('ghost'), 'content', 'images', 'cut.bin'),
        crypto.randomBytes(40 * 1024 * 1024),
      );
      const seen = psLines.length;
      const running = sswAsync(['backup', ...target(relay.port), '--pin-host-key', hostKey, '--json', ...common()]);
      await waitFor(
        'duplicity to run on the host',
        () => psLines.slice(seen).some((l) => l.includes('duplicity') && l.includes(archive('ghost'))) || undefined,
        180_000,
        10,
      );
      relay.freeze();
      const partial = await waitFor(
        'the large volume to be partly copied again',
        () => {
          if (!fs.existsSync(localCopy('nextcloud'))) return undefined;
          const p = fs
            .readdirSync(localCopy('nextcloud'))
            .find((n) => n.endsWith('.partial') && n.includes('.difftar.'));
          return p && fs.statSync(path.join(localCopy('nextcloud'), p)).size > 8 * 1024 * 1024 ? p : undefined;
        },
        180_000,
        10,
      );
      relay.freeze();
      const atCut = fs.statSync(path.join(localCopy('nextcloud'), partial)).size;
      const r = await running;
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      const backups = await activityRuns(out.workflowId, 'backupApp');
      // (Its retry may itself have waited out the cut-off attempt's duplicity, still finishing on the host.)
      assert.ok(backups[0]!.attempt >= 2, `ghost's backup was retried: ${JSON.stringify(backups[0])}`);
      const pulls = await activityRuns(out.workflowId, 'pullArchive');
      const ncPull = pulls[1]!;
      assert.ok(
        ncPull.attempt >= 2 && /made no progress/.test(ncPull.lastFailure),
        `nextcloud's copy was retried after stalling: ${JSON.stringify(ncPull)}`,
      );
      const nc = out.result.apps.find((a: { app: string }) => a.app === 'nextcloud');
      assert.ok(nc.resumedBytes >= atCut, `resumed from ${nc.resumedBytes}, ${atCut} bytes were there at the cut`);
      for (const app of ['ghost', 'nextcloud']) assertCopiesIdentical(app);
    } finally {
      await relay.close();
    }
  });
});

describe('ssw restore', () => {
  test('to a point in time: byte-identical to the data then, the live data kept aside', async () => {
    const liveGhost = treeDigest(source('ghost'));
    const r = await sswAsync(['restore', ...target(), '--app', 'ghost', '--time', firstTime, '--json', ...common()]);
    assert.equal(r.status, 0, r.stderr);
    const [ghost] = JSON.parse(r.stdout).result.apps;
    assert.deepEqual(treeDigest(source('ghost')), firstTrees.ghost);
    assert.deepEqual(treeDigest(ghost.previousKeptAt), liveGhost);
  });

  test('a host that lost everything gets the archives back from this machine; a worker killed mid-restore does not redo finished apps', async () => {
    const latest = {
      ghost: treeDigest(
        `${source('ghost')}.ssw-replaced-${
          fs
            .readdirSync(path.dirname(source('ghost')))
            .find((n) => n.includes('ssw-replaced-'))!
            .split('ssw-replaced-')[1]
        }`,
      ),
      nextcloud: treeDigest(source('nextcloud')),
    };
    fs.rmSync(backupPath, { recursive: true, force: true });
    fs.rmSync(path.dirname(source('nextcloud')), { recursive: true, force: true });

    const t0 = Date.now();
    const running = sswAsync(['restore', ...target(), '--json', ...common()]);
    await waitFor(
      'the nextcloud restore to be under way',
      () => fs.existsSync(`${source('nextcloud')}.ssw-restore`) || undefined,
      180_000,
      10,
    );
    await killWorker();
    await startWorker();
    const r = await running;
    assert.equal(r.status, 0, r.stderr);
    measured.restoreWithKillMs = Date.now() - t0;
    const out = JSON.parse(r.stdout);
    assert.deepEqual(treeDigest(source('ghost')), latest.ghost);
    assert.deepEqual(treeDigest(source('nextcloud')), latest.nextcloud);
    assert.ok(
      out.result.apps.find((a: { app: string }) => a.app === 'nextcloud').pushedBytes > 0,
      'the archive went back to the host',
    );
    assert.ok(!fs.existsSync(`${source('nextcloud')}.ssw-restore`), 'no scratch left behind');

    const events = (await history(out.workflowId)).events ?? [];
    const E = temporal.api.enums.v1.EventType;
    const restores = events.filter(
      (e) =>
        e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
        e.activityTaskScheduledEventAttributes?.activityType?.name === 'restoreApp',
    );
    assert.equal(restores.length, 3, 'ghost, nextcloud, letsencrypt: each scheduled once');
    const attemptOf = (scheduled: (typeof restores)[number]) =>
      events.find(
        (e) =>
          e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_STARTED &&
          Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === Number(scheduled.eventId),
      )?.activityTaskStartedEventAttributes?.attempt;
    assert.equal(attemptOf(restores[0]!), 1, 'ghost, finished before the kill, was not restored again');
    assert.equal(attemptOf(restores[1]!), 2, 'nextcloud, interrupted, was restored by the new worker');
  });

  test('a restore whose network is cut while the archive goes back to the host retries and resumes the upload', async () => {
    const live = treeDigest(source('nextcloud'));
    const files = fs.readdirSync(archive('nextcloud'));
    fs.rmSync(archive('nextcloud'), { recursive: true, force: true });
    const relay = await TcpRelay.start(harness().ssh.port);
    try {
      const running = sswAsync([
        'restore',
        ...target(relay.port),
        '--pin-host-key',
        hostKey,
        '--app',
        'nextcloud',
        '--json',
        ...common(),
      ]);
      // The upload waits in the staging directory beside the archive until it is complete.
      const staging = `${archive('nextcloud')}.ssw-upload`;
      await waitFor(
        'the large volume to be partly back on the host',
        () => {
          if (!fs.existsSync(staging)) return undefined;
          const p = fs.readdirSync(staging).find((n) => n.endsWith('.partial') && n.includes('.difftar.'));
          return p && fs.statSync(path.join(staging, p)).size > 8 * 1024 * 1024 ? p : undefined;
        },
        180_000,
        10,
      );
      relay.freeze();
      const r = await running;
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      const [push] = await activityRuns(out.workflowId, 'pushArchive');
      assert.ok(
        push!.attempt >= 2 && /made no progress/.test(push!.lastFailure),
        `the push was retried after stalling: ${JSON.stringify(push)}`,
      );
      assert.deepEqual(fs.readdirSync(archive('nextcloud')).sort(), files.sort());
      assertCopiesIdentical('nextcloud');
      assert.ok(!fs.existsSync(staging), 'the staging directory is gone');
      assert.deepEqual(treeDigest(source('nextcloud')), live, 'restored from the latest backup');
    } finally {
      await relay.close();
    }
  });

  test('a wrong passphrase is a clear error and leaves the live data and the archives untouched', async () => {
    const live = treeDigest(source('ghost'));
    const archived = treeDigest(archive('ghost'));
    writeSite('not-the-passphrase');
    try {
      for (const cmd of [['backup'], ['restore']]) {
        const r = await sswAsync([...cmd, ...target(), '--app', 'ghost', ...common()]);
        assert.equal(r.status, 1);
        assert.match(
          r.stderr,
          /DUPLICITY_BACKUP_PASSPHRASE in sites\/vault\.test\/site\.conf does not open the existing backups of ghost.*\[SswSecretError\]/s,
        );
        assert.doesNotMatch(r.stderr, NO_STACK);
      }
    } finally {
      writeSite(PASSPHRASE);
    }
    assert.deepEqual(treeDigest(source('ghost')), live);
    assert.deepEqual(treeDigest(archive('ghost')), archived);
  });
});

describe('ssw backup verify', () => {
  test('the drill passes on good archives and names the app whose volume is damaged', async () => {
    const ok = await sswAsync(['backup', 'verify', ...target(), '--json', ...common()]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(JSON.parse(ok.stdout).result.apps.every((a: { ok: boolean }) => a.ok));

    const volume = fs.readdirSync(archive('nextcloud')).find((n) => n.includes('full') && n.endsWith('.difftar.gpg'))!;
    const fd = fs.openSync(path.join(archive('nextcloud'), volume), 'r+');
    fs.writeSync(fd, Buffer.from('damaged!'), 0, 8, 4096);
    fs.closeSync(fd);
    const bad = await sswAsync(['backup', 'verify', ...target(), ...common()]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /The backups of nextcloud of vault\.test do not restore: .*damaged.*\[SswDrillFailed\]/s);
    const list = JSON.parse(
      (await sswAsync(['backup', 'list', '--domain', DOMAIN, '--json', ...common()])).stdout,
    ).backups;
    const drill = Object.fromEntries(
      list.map((b: { app: string; lastDrill: { ok: boolean } }) => [b.app, b.lastDrill.ok]),
    );
    assert.deepEqual(drill, { ghost: true, nextcloud: false });
  });
});

describe('secrets', () => {
  test('the passphrase is in no workflow history, worker log or host process list', async () => {
    const connection = await Connection.connect({ address: harness().temporal.address });
    let runs: Array<{ workflowId: string; runId: string }> = [];
    try {
      // The raw listing: the SDK's would decode memos, which are encrypted.
      const page = await connection.workflowService.listWorkflowExecutions({
        namespace: harness().temporal.namespace,
        query: `SsSite = "${DOMAIN}"`,
        pageSize: 100,
      });
      runs = (page.executions ?? []).map((e) => ({
        workflowId: e.execution?.workflowId ?? '',
        runId: e.execution?.runId ?? '',
      }));
    } finally {
      await connection.close();
    }
    assert.ok(runs.length >= 9, `every backup, restore and drill run (${runs.length})`);
    for (const run of runs) {
      const bytes = Buffer.from(
        temporal.api.history.v1.History.encode(await history(run.workflowId, run.runId)).finish(),
      );
      assert.ok(!bytes.includes(PASSPHRASE), `the history of ${run.workflowId} holds the passphrase`);
    }
    workerLogs.push(worker.output());
    assert.ok(!workerLogs.join('\n').includes(PASSPHRASE), 'a worker log holds the passphrase');
    assert.ok(
      psLines.some((l) => l.includes('duplicity')),
      'the sampler saw duplicity run',
    );
    assert.deepEqual(
      psLines.filter((l) => l.includes(PASSPHRASE)),
      [],
    );
    console.log(
      `interrupted transfer: volume ${measured.volumeBytes} bytes, ${measured.bytesAtKill} copied at the kill, resumed from ${measured.resumedBytes}, ${measured.sentAfterResume} sent after the resume`,
    );
  });
});
