import { harnessCliArgs } from '../test/helpers/suite-args';
/**
 * Backup and restore throughput on the test harness (needs `bash test/harness/start.sh`):
 * a 200 MB app directory (incompressible binary plus text files) backed up with
 * `ssw backup` (duplicity on the harness SSH host, then the archive pulled to this
 * machine over SFTP), then restored with `ssw restore` on a host that lost both
 * its data and its archive (the archive pushed back, duplicity restore, swap).
 * Each phase's time comes from the workflow history (activity scheduled to
 * completed). Writes bench/results/backup-throughput.json. Usage: npm run bench:backup
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { fingerprintSha256 } from '../common/known-hosts';
import { encryptedDataConverter } from '../common/codec/data-converter';
import { SsPaths } from '../common/paths';
import { startService, stopService, sswAsync } from '../test/helpers/cli';
import { harness } from '../test/helpers/harness';

const DOMAIN = 'bench.test';
const MB = 1e6;
const SIZE = 200 * MB;

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

/** Scheduled-to-completed time of each activity of a type, in order. */
async function phaseMs(client: Client, workflowId: string, activity: string): Promise<number[]> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const E = temporal.api.enums.v1.EventType;
  return events
    .filter(
      (e) =>
        e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
        e.activityTaskScheduledEventAttributes?.activityType?.name === activity,
    )
    .map((s) => {
      const done = events.find(
        (e) =>
          e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED &&
          Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === Number(s.eventId),
      );
      return done ? ms(done.eventTime) - ms(s.eventTime) : NaN;
    });
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-bench-backup-'));
  const paths = new SsPaths(path.join(root, 'ss'));
  const dataPath = path.join(root, 'data');
  const backupPath = path.join(root, 'backups');
  fs.mkdirSync(paths.siteDir(DOMAIN), { recursive: true });
  fs.writeFileSync(
    paths.siteConf(DOMAIN),
    [
      `DOMAIN_NAME=${DOMAIN}`,
      'DEPLOY_GHOST=true',
      'GHOST_MYSQL_PASSWORD=a',
      'GHOST_MYSQL_ROOT_PASSWORD=b',
      'DUPLICITY_BACKUP_PASSPHRASE=bench-passphrase',
    ].join('\n') + '\n',
    { mode: 0o600 },
  );
  const app = path.join(dataPath, 'ghost', DOMAIN);
  fs.mkdirSync(path.join(app, 'content'), { recursive: true });
  let written = 0;
  for (let i = 0; written < SIZE - 10 * MB; i++) {
    const buf = crypto.randomBytes(16 * 1024 * 1024);
    fs.writeFileSync(path.join(app, `media-${i}.bin`), buf);
    written += buf.length;
  }
  for (let i = 0; written < SIZE; i++) {
    const text = Buffer.from(`post ${i}\n`.repeat(12_000));
    fs.writeFileSync(path.join(app, 'content', `post-${i}.md`), text);
    written += text.length;
  }

  const hostKey = fingerprintSha256(
    Buffer.from(fs.readFileSync(harness().ssh.hostPublicKeyPath, 'utf8').trim().split(/\s+/)[1]!, 'base64'),
  );
  const taskQueue = `bench-backup-${process.pid}`;
  const common = harnessCliArgs(paths.root, taskQueue);
  const target = [
    '--host',
    '127.0.0.1',
    '--ssh-port',
    String(harness().ssh.port),
    '--ssh-key',
    harness().ssh.privateKeyPath,
    '--domain',
    DOMAIN,
    '--data-path',
    dataPath,
    '--backup-path',
    backupPath,
    '--app',
    'ghost',
  ];
  const worker = await startService(['worker', ...common], /Worker polling/);
  try {
    const client = new Client({
      connection: await Connection.connect({ address: harness().temporal.address }),
      namespace: harness().temporal.namespace,
      dataConverter: encryptedDataConverter(paths.payloadKey),
    });
    const backup = await sswAsync(['backup', ...target, '--pin-host-key', hostKey, '--json', ...common]);
    if (backup.status !== 0) throw new Error(backup.stderr);
    const backupId = JSON.parse(backup.stdout).workflowId;
    const archiveBytes = JSON.parse(backup.stdout).result.apps[0].archiveBytes;

    fs.rmSync(backupPath, { recursive: true });
    fs.rmSync(app, { recursive: true });
    const restore = await sswAsync(['restore', ...target, '--json', ...common]);
    if (restore.status !== 0) throw new Error(restore.stderr);
    const restoreId = JSON.parse(restore.stdout).workflowId;

    const [duplicityBackup] = await phaseMs(client, backupId, 'backupApp');
    const [pull] = await phaseMs(client, backupId, 'pullArchive');
    const [push] = await phaseMs(client, restoreId, 'pushArchive');
    const [duplicityRestore] = await phaseMs(client, restoreId, 'restoreApp');
    await client.connection.close();
    const rate = (bytes: number, t: number) => Math.round((bytes / MB / (t / 1000)) * 10) / 10;
    const results = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      setup:
        'ssw backup / ssw restore via CLI on the harness SSH host (loopback); duplicity 0.8 (gpg AES256, default volume size); SFTP over ssh2',
      appBytes: written,
      archiveBytes,
      backup: {
        duplicityMs: Math.round(duplicityBackup!),
        duplicityMBps: rate(written, duplicityBackup!),
        pullMs: Math.round(pull!),
        pullMBps: rate(archiveBytes, pull!),
        totalMBps: rate(written, duplicityBackup! + pull!),
      },
      restore: {
        pushMs: Math.round(push!),
        pushMBps: rate(archiveBytes, push!),
        duplicityMs: Math.round(duplicityRestore!),
        duplicityMBps: rate(written, duplicityRestore!),
        totalMBps: rate(written, push! + duplicityRestore!),
      },
    };
    const out = path.join(__dirname, '..', '..', 'bench', 'results', 'backup-throughput.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
    console.log(JSON.stringify(results, null, 2));
  } finally {
    await stopService(worker);
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
