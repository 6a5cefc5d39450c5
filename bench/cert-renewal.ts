import { harnessCliArgs } from '../test/helpers/suite-args';
/**
 * Certificate renewal on the test harness (needs `bash test/harness/start.sh`):
 * a real worker, certbot on the harness SSH host, pebble with real http-01
 * validation through a real nginx serving HTTP and HTTPS, and a probe loop
 * requesting the site back to back the whole time. Measures, over N forced
 * renewals: wall time of `ssw cert renew --force` (process start to exit), the
 * certbot step alone (from the workflow history), and the failed requests
 * (downtime) seen by the probes.
 * Writes bench/results/cert-renewal.json. Usage: npm run bench:cert [-- --runs 5]
 */
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
import { HTTPS_PORT, startProbeLoop, TestNginx } from '../test/helpers/nginx';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;
const DOMAIN = 'bench.test';

const quantile = (values: number[], q: number) => {
  const s = [...values].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  return s[Math.floor(i)]! + (s[Math.ceil(i)]! - s[Math.floor(i)]!) * (i - Math.floor(i));
};
const round = (x: number) => Math.round(x);
const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-bench-cert-'));
  fs.chmodSync(root, 0o755);
  const paths = new SsPaths(path.join(root, 'ss'));
  const dataPath = path.join(root, 'data');
  fs.mkdirSync(paths.siteDir(DOMAIN), { recursive: true });
  fs.mkdirSync(dataPath, { recursive: true });
  fs.writeFileSync(
    paths.siteConf(DOMAIN),
    [
      `DOMAIN_NAME=${DOMAIN}`,
      'DEPLOY_GHOST=false',
      `ACME_SERVER=${harness().acme.directory}`,
      `ACME_CA_BUNDLE=${harness().acme.caBundle}`,
      'DUPLICITY_BACKUP_PASSPHRASE=bench',
    ].join('\n') + '\n',
    { mode: 0o600 },
  );
  const hostKey = fingerprintSha256(
    Buffer.from(fs.readFileSync(harness().ssh.hostPublicKeyPath, 'utf8').trim().split(/\s+/)[1]!, 'base64'),
  );
  const taskQueue = `bench-cert-${process.pid}`;
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
    '--http-port',
    String(harness().acme.httpPort),
    '--https-port',
    String(HTTPS_PORT),
  ];

  // The worker first: if it cannot start, nothing else has been started.
  const worker = await startService(['worker', ...common], /Worker polling/);
  const nginx = new TestNginx(dataPath, [DOMAIN]);
  nginx.start();
  let tls = false;
  const probe = startProbeLoop(DOMAIN, () => tls);
  const walls: number[] = [];
  const certbotMs: number[] = [];
  try {
    const first = await sswAsync(['cert', 'renew', ...target, '--pin-host-key', hostKey, ...common]);
    if (first.status !== 0) throw new Error(first.stderr);
    nginx.writeConfig(true);
    nginx.reload();
    tls = true;

    const client = new Client({
      connection: await Connection.connect({ address: harness().temporal.address }),
      namespace: harness().temporal.namespace,
      dataConverter: encryptedDataConverter(paths.payloadKey),
    });
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      const r = await sswAsync(['cert', 'renew', ...target, '--force', '--json', ...common]);
      walls.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0) throw new Error(r.stderr);
      // The certbot step alone: scheduled-to-completed of obtainCertificate in the history.
      const events = (await client.workflow.getHandle(JSON.parse(r.stdout).workflowId).fetchHistory()).events ?? [];
      const E = temporal.api.enums.v1.EventType;
      const sched = events.find(
        (e) =>
          e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED &&
          e.activityTaskScheduledEventAttributes?.activityType?.name === 'obtainCertificate',
      );
      const done = events.find(
        (e) =>
          e.eventType === E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED &&
          Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === Number(sched?.eventId),
      );
      if (sched && done) certbotMs.push(ms(done.eventTime) - ms(sched.eventTime));
    }
    await client.connection.close();
  } finally {
    const stats = await probe.stop();
    await stopService(worker);
    await nginx.stop();
    const results = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      setup:
        'ssw cert renew --force via CLI; certbot 2.1 (host package) over SSH; pebble http-01 through nginx (webroot); graceful reload',
      renewals: walls.length,
      wallMs: walls.length ? { median: round(quantile(walls, 0.5)), max: round(Math.max(...walls)) } : null,
      certbotStepMs: certbotMs.length
        ? { median: round(quantile(certbotMs, 0.5)), max: round(Math.max(...certbotMs)) }
        : null,
      probes: {
        answered: stats.ok,
        failed: stats.failed,
        certificatesServed: stats.serials.length,
        errors: stats.errors,
      },
    };
    const out = path.join(__dirname, '..', '..', 'bench', 'results', 'cert-renewal.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
    console.log(JSON.stringify(results, null, 2));
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
