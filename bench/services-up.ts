/**
 * Wall time of a full `ssw up` of a deployment with its services, and of a no-change
 * `ssw up` (needs `bash test/harness/start.sh`). The deployment is the services e2e's:
 * a www system container on the harness LXD with nested Docker, images copied
 * air-gapped (Debian's nginx, busybox stand-ins for Ghost and Gitea and their
 * databases), a certificate from pebble for four names validated against the instance.
 *   - full: from an empty deployment (the weekly base image already built) to every
 *     site answering: instance, certificate, image transfer, proxy, apps;
 *   - no change: `ssw up` again right after.
 * CLI process start to exit. `ssw down --purge --yes` between rounds.
 * With --btcpay, the deployment also has a btcpayserver instance (the BTCPay e2e's: the harness btcd in
 * ssw-test-bitcoind, stand-ins for NBXplorer, PostgreSQL, BTCPay and Core Lightning) synced from a miner
 * on this host with 1000 blocks: both instances in parallel, then the chain-sync wait.
 * Writes bench/results/services-up.json (services-up-btcpay.json). Usage: npm run bench:services [-- ROUNDS] [--btcpay]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SsPaths } from '../common/paths';
import { ssw, startService, stopService, sswAsync } from '../test/helpers/cli';
import { harness } from '../test/helpers/harness';
import { harnessLxd, resetHarnessLxd } from '../test/helpers/lxd';
import { freePort, startMiner, type BitcoinNode } from '../test/helpers/bitcoin';

const BTCPAY = process.argv.includes('--btcpay');
const BTCPAY_ADDRESS = '10.123.45.63';

const REMOTE = 'bench';
const DEPLOYMENT = 'benchsvc';
const DOMAIN = 'benchsvc.test';
const ADDRESS = '10.123.45.60';
const NAMES = [DOMAIN, `www.${DOMAIN}`, `btcpay.${DOMAIN}`, `git.${DOMAIN}`];

async function timed(args: string[]): Promise<{ ms: number; stdout: string }> {
  const start = process.hrtime.bigint();
  const r = await sswAsync(args);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`ssw ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { ms, stdout: r.stdout };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The seconds each step took, from the follow output ("  ok Step (1.2s)"). */
function stepSeconds(stdout: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of stdout.matchAll(/^\s+ok (.+) \((\d+\.\d)s\)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 2);
  const h = harness();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-bench-svc-'));
  const paths = new SsPaths(root);
  const common = [
    '--ss-root',
    root,
    '--temporal-address',
    h.temporal.address,
    '--namespace',
    h.temporal.namespace,
    '--task-queue',
    `bench-svc-${process.pid}`,
  ];
  const target = ['--deployment', DEPLOYMENT, '--remote', REMOTE];
  const lxd = harnessLxd();
  await resetHarnessLxd(lxd, paths, [DEPLOYMENT]);
  for (const name of NAMES)
    await fetch(`${h.acme.challtestsrvManagement}/add-a`, {
      method: 'POST',
      body: JSON.stringify({ host: `${name}.`, addresses: [ADDRESS] }),
    });
  process.env.DOCKER_HOST = `unix://${h.docker.socket}`;
  let miner: BitcoinNode | undefined;
  const minerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-bench-miner-'));
  const bridgeIp = h.lxd.testBridgeAddress.split('/')[0]!;
  const minerP2p = await freePort();
  if (BTCPAY) {
    miner = await startMiner({ dir: minerDir, listen: `${bridgeIp}:${minerP2p}`, rpcPort: await freePort() });
    await miner.generate(1000);
  }
  const btcpayLines = BTCPAY
    ? [
        'BTCPAY_SERVER_MAC_ADDRESS=00:16:3e:5c:00:12',
        `BTCPAY_SERVER_IPV4_ADDRESS=${BTCPAY_ADDRESS}`,
        'BTCPAY_SERVER_CPU_COUNT=1',
        'BTCPAY_SERVER_MEMORY_MB=1536',
        `BITCOIN_IMAGE=${h.bitcoin.images.bitcoind}`,
        ...['NBXPLORER', 'BTCPAY', 'BTCPAY_POSTGRES', 'CLIGHTNING', 'LND'].map(
          (k) => `${k}_IMAGE=${h.bitcoin.images.standin}`,
        ),
        `BITCOIN_PEERS=${bridgeIp}:${minerP2p}`,
      ]
    : [];
  const worker = await startService(['worker', ...common], /Worker polling/);
  try {
    const add = ssw([
      'remote',
      'add',
      REMOTE,
      '127.0.0.1',
      '--ssh-port',
      String(h.ssh.port),
      '--ssh-user',
      'root',
      '--ssh-key',
      h.ssh.privateKeyPath,
      '--disk',
      'dir',
      '--api-port',
      '18447',
      ...common,
    ]);
    if (add.status !== 0) throw new Error(add.stderr);
    fs.writeFileSync(
      paths.remoteConf(REMOTE),
      [
        `DEPLOYMENT_STRING="(${DEPLOYMENT}|regtest)"`,
        `DATA_PLANE_NETWORK=${h.lxd.testBridge}`,
        'IMAGE_SOURCE=airgapped',
        `ACME_SERVER=${h.acme.directory}`,
        `ACME_CA_BUNDLE=${h.acme.caBundle}`,
        '',
      ].join('\n'),
    );
    fs.mkdirSync(path.dirname(paths.projectConf(DEPLOYMENT)), { recursive: true });
    fs.writeFileSync(
      paths.projectConf(DEPLOYMENT),
      [
        `PRIMARY_DOMAIN=${DOMAIN}`,
        'INSTANCE_TYPE=container',
        `BASE_IMAGE=${h.lxd.baseImage}`,
        'WWW_SERVER_MAC_ADDRESS=00:16:3e:5c:00:11',
        `WWW_SERVER_IPV4_ADDRESS=${ADDRESS}`,
        'WWW_SERVER_CPU_COUNT=2',
        'WWW_SERVER_MEMORY_MB=2048',
        `PROXY_HTTP_PORT=${h.acme.httpPort}`,
        'NGINX_IMAGE=ssw-test-nginx:1',
        ...['GHOST', 'GHOST_DB', 'GITEA', 'GITEA_DB'].map((k) => `${k}_IMAGE=ssw-test-standin:1`),
        ...btcpayLines,
        '',
      ].join('\n'),
    );
    fs.mkdirSync(paths.siteDir(DOMAIN), { recursive: true });
    fs.writeFileSync(
      paths.siteConf(DOMAIN),
      [
        `DOMAIN_NAME=${DOMAIN}`,
        'SITE_LANGUAGE_CODES=en,es',
        'DEPLOY_GHOST=true',
        'DEPLOY_GITEA=true',
        'GHOST_MYSQL_PASSWORD=bench-a',
        'GHOST_MYSQL_ROOT_PASSWORD=bench-b',
        'GITEA_MYSQL_PASSWORD=bench-c',
        'GITEA_MYSQL_ROOT_PASSWORD=bench-d',
        'DUPLICITY_BACKUP_PASSPHRASE=bench-e',
        'BTCPAY_POSTGRES_PASSWORD=bench-f',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    // The weekly base image, once, outside the measurement.
    await timed(['up', ...target, '--instances-only', ...common]);
    await timed(['down', ...target, '--purge', '--yes', ...common]);

    const full: number[] = [];
    const noChange: number[] = [];
    let steps: Record<string, number> = {};
    for (let round = 0; round < rounds; round++) {
      const first = await timed(['up', ...target, ...common]);
      full.push(first.ms);
      steps = stepSeconds(first.stdout);
      for (let i = 0; i < 3; i++) noChange.push((await timed(['up', ...target, ...common])).ms);
      await timed(['down', ...target, '--purge', '--yes', ...common]);
    }
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, memGb: Math.round(os.totalmem() / 2 ** 30) },
      what: `${BTCPAY ? 'with a btcpayserver instance beside it (node synced from a 1000-block miner, NBXplorer, PostgreSQL, BTCPay, Core Lightning stand-ins, the chain-sync wait); ' : ''}ssw up with services: one www system container, nested Docker, 7 containers (nginx proxy; Ghost en+es and Gitea stand-ins with their databases), air-gapped images, a pebble certificate for 4 names; CLI start to exit`,
      rounds,
      fullUpMs: { median: Math.round(median(full)), runs: full.map(Math.round) },
      noChangeUpMs: { median: Math.round(median(noChange)), runs: noChange.map(Math.round) },
      lastFullUpStepsS: steps,
    };
    const out = path.join(__dirname, `../../bench/results/services-up${BTCPAY ? '-btcpay' : ''}.json`);
    fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await miner?.stop();
    fs.rmSync(minerDir, { recursive: true, force: true });
    await stopService(worker);
    await resetHarnessLxd(lxd, paths, [DEPLOYMENT]);
    for (const name of NAMES)
      await fetch(`${h.acme.challtestsrvManagement}/clear-a`, {
        method: 'POST',
        body: JSON.stringify({ host: `${name}.` }),
      }).catch(() => undefined);
    lxd.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
