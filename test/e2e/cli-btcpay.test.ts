import { addHarnessRemote, harnessCliArgs } from '../helpers/suite-args';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import type { LxdClient } from '../../activities/lxd/client';
import { SsPaths } from '../../common/paths';
import { chainDirOf, freePort, startMiner, type BitcoinNode } from '../helpers/bitcoin';
import { LongRunning, ssw, sswAsync, startService, stopService } from '../helpers/cli';
import { apiPortFor, backendUnderTest, harness } from '../helpers/harness';
import { harnessLxd, resetHarnessLxd } from '../helpers/lxd';
import { tempSsRoot, uniqueTaskQueue, waitFor, withEncryptedClient } from '../helpers/temporal';
import {
  clearNames,
  httpsGet as httpsGetOf,
  pebbleRoot as pebbleRootOf,
  pointNames,
  writeRemoteConf,
  writeSiteConf,
} from '../helpers/www-fixture';

// BTCPay on the btcpayserver instance, through the real CLI and a real worker, on the harness LXD: a www
// and a btcpayserver instance (system containers with nested Docker). The node is the harness's btcd in the
// ssw-test-bitcoind image (regtest), fed by a miner on this host (btcd too) that it reaches through
// BITCOIN_PEERS on the test bridge; NBXplorer, PostgreSQL, BTCPay Server and Core Lightning are the
// ssw-test-btcpay-standin image, run from ssw's own specs. The miner is stopped and started by PID to make the
// chain-sync wait last exactly as long as the test needs: a node without peers is never synced.
const root = tempSsRoot('ssw-btcpay-');
const paths = new SsPaths(root);
const taskQueue = uniqueTaskQueue('btcpay');
const REMOTE = 'lab';
const DEPLOYMENT = 'btc';
const DOMAIN = 'btc.test';
const backend = backendUnderTest();
const NET = backend.testBridgeAddress.split('.').slice(0, 3).join('.');
const BRIDGE_IP = backend.testBridgeAddress.split('/')[0]!;
const WWW_ADDRESS = `${NET}.70`;
const BTCPAY_ADDRESS = `${NET}.71`;
const NAMES = [DOMAIN, `www.${DOMAIN}`, `btcpay.${DOMAIN}`];
const common = () => harnessCliArgs(root, taskQueue);
const target = ['--deployment', DEPLOYMENT, '--remote', REMOTE];
const PRELOADED = 300;
const CHAIN = 1200;

let worker: LongRunning;
let lxd: LxdClient;
let pebbleRoot = '';
let miner: BitcoinNode | undefined;
let minerP2p = 0;
let minerRpc = 0;
const minerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-btcpay-miner-'));
const preloadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-btcpay-preload-'));

const startTheMiner = async () => {
  miner = await startMiner({ dir: minerDir, listen: `${BRIDGE_IP}:${minerP2p}`, rpcPort: minerRpc });
  return miner;
};
const stopTheMiner = async () => {
  await miner?.stop();
  miner = undefined;
};

function writeConfig(extra: string[] = []): void {
  const h = harness();
  writeRemoteConf(paths, REMOTE, [[DEPLOYMENT, 'regtest']]);
  fs.mkdirSync(`${root}/projects/${DEPLOYMENT}`, { recursive: true });
  fs.writeFileSync(
    paths.projectConf(DEPLOYMENT),
    [
      `PRIMARY_DOMAIN=${DOMAIN}`,
      'INSTANCE_TYPE=container',
      `BASE_IMAGE=${backend.baseImage}`,
      'WWW_SERVER_MAC_ADDRESS=00:16:3e:7b:00:01',
      `WWW_SERVER_IPV4_ADDRESS=${WWW_ADDRESS}`,
      'BTCPAY_SERVER_MAC_ADDRESS=00:16:3e:7b:00:02',
      `BTCPAY_SERVER_IPV4_ADDRESS=${BTCPAY_ADDRESS}`,
      'WWW_SERVER_CPU_COUNT=1',
      'WWW_SERVER_MEMORY_MB=1024',
      'BTCPAY_SERVER_CPU_COUNT=1',
      'BTCPAY_SERVER_MEMORY_MB=1536',
      'WWW_SSDATA_DISK_SIZE_GB=2',
      `PROXY_HTTP_PORT=${h.acme.httpPort}`,
      'NGINX_IMAGE=ssw-test-nginx:1',
      'GHOST_IMAGE=ssw-test-standin:1',
      'GHOST_DB_IMAGE=ssw-test-standin:1',
      `BITCOIN_IMAGE=${h.bitcoin.images.bitcoind}`,
      ...['NBXPLORER', 'BTCPAY', 'BTCPAY_POSTGRES', 'CLIGHTNING', 'LND'].map(
        (k) => `${k}_IMAGE=${h.bitcoin.images.standin}`,
      ),
      `BITCOIN_PEERS=${BRIDGE_IP}:${minerP2p}`,
      ...extra,
      '',
    ].join('\n'),
  );
  // A site.conf written before BTCPay: its PostgreSQL password is generated on the first up.
  writeSiteConf(paths, DOMAIN, ['DEPLOY_GHOST=true']);
}

const withTemporal = <T>(fn: (client: Client) => Promise<T>) => withEncryptedClient(paths.payloadKey, fn);
const btcpayPage = () => httpsGetOf(WWW_ADDRESS, `btcpay.${DOMAIN}`, '/', pebbleRoot);

/** Every event of a workflow's history (the current run). */
async function history(id: string) {
  return withTemporal(async (c) => (await c.workflow.getHandle(id).fetchHistory()).events ?? []);
}

before(async () => {
  const h = harness();
  lxd = harnessLxd();
  await resetHarnessLxd(lxd, paths, [DEPLOYMENT]);
  await pointNames(NAMES, WWW_ADDRESS);
  pebbleRoot = await pebbleRootOf();
  minerP2p = await freePort();
  minerRpc = await freePort();
  // A pre-load source: a stopped node's chain directory at PRELOADED blocks, as a copy (no symlinks).
  await startTheMiner();
  await miner!.generate(PRELOADED);
  await stopTheMiner();
  for (const d of ['blocks', 'chainstate'])
    fs.cpSync(path.join(chainDirOf(minerDir), d), path.join(preloadDir, d), { recursive: true, dereference: true });
  await startTheMiner();
  await miner!.generate(CHAIN - PRELOADED);
  process.env.DOCKER_HOST = `unix://${h.docker.socket}`;
  worker = await startService(['worker', ...common()], /Worker polling/);
  const add = addHarnessRemote(REMOTE, apiPortFor(18447), common(), ['--backend', backend.backend]);
  assert.equal(add.status, 0, add.stderr);
  writeConfig();
});

after(async () => {
  await stopTheMiner();
  if (worker) await stopService(worker);
  await resetHarnessLxd(lxd, paths, [DEPLOYMENT]);
  await clearNames(NAMES);
  lxd.close();
  fs.rmSync(minerDir, { recursive: true, force: true });
  fs.rmSync(preloadDir, { recursive: true, force: true });
});

describe('ssw up: BTCPay on the btcpayserver instance, its chain sync waited for durably', () => {
  test('--plan lists the BTCPay stacks for the btcpayserver instance', () => {
    const r = ssw(['up', '--plan', ...target, ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\+ create stack +btcpay-bitcoin/);
    assert.match(r.stdout, /\+ create stack +btcpay-server/);
  });

  test('--preload-chain of a directory without chainstate/ is refused before anything starts', () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-btcpay-bad-'));
    fs.mkdirSync(path.join(bad, 'blocks'));
    const r = ssw(['up', ...target, '--preload-chain', bad, ...common()]);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /--preload-chain .*has no chainstate\/ directory\. Nothing was started\./);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    fs.rmSync(bad, { recursive: true, force: true });
  });

  test('from nothing with a pre-loaded chain: the names say "Syncing" until synced, the worker SIGKILLed mid-wait resumes it, then BTCPay answers', async () => {
    // No peer while the wait runs: the node stays at the pre-loaded height, and the wait with it.
    await stopTheMiner();
    const up = sswAsync(['up', ...target, '--preload-chain', preloadDir, '--sync-report-every', '2', ...common()]);
    let ended: string | undefined;
    void up.then((r) => (ended = `up ended early (${r.status}):\n${r.stdout}\n${r.stderr}`));
    const page = await waitFor(
      'the BTCPay name to answer the syncing page at the pre-loaded height',
      async () => {
        if (ended) throw new Error(ended);
        const r = await btcpayPage().catch(() => undefined);
        return r && r.status === 503 && new RegExp(`Syncing, block ${PRELOADED} of ${PRELOADED}`).test(r.body)
          ? r
          : undefined;
      },
      900_000,
      1_000,
    );
    assert.match(page.body, /Payments open once it is synced/);
    // The wait has polled and heartbeated (the page is written after the heartbeat): kill the worker now.
    process.kill(-worker.child.pid!, 'SIGKILL');
    await worker.exited;
    worker = await startService(['worker', ...common()], /Worker polling/);
    await startTheMiner();
    const r = await up;
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /BTCPay: generated BTCPAY_POSTGRES_PASSWORD in the primary site's site\.conf/);
    assert.match(r.stdout, /chain pre-load: \d+ files/);
    assert.match(r.stdout, new RegExp(`BTCPay: node synced \\(block ${CHAIN} of ${CHAIN} \\(100 %\\)`));
    assert.match(r.stdout, /BTCPay takes payments/);
    assert.match(fs.readFileSync(paths.siteConf(DOMAIN), 'utf8'), /^BTCPAY_POSTGRES_PASSWORD="[A-Za-z0-9_-]{43}"$/m);
    assert.equal(fs.statSync(paths.siteConf(DOMAIN)).mode & 0o777, 0o600);

    // The wait was resumed from its heartbeat, not restarted: a second attempt, from the pre-loaded height.
    const events = await history(`up/${REMOTE}/${DEPLOYMENT}/chain-sync`);
    const attempts = events
      .filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
    assert.ok(Math.max(...attempts) >= 2, `an activity was retried after the kill: attempts ${attempts.join(',')}`);
    const result = (await withTemporal((c) =>
      c.workflow.getHandle(`up/${REMOTE}/${DEPLOYMENT}/chain-sync`).result(),
    )) as {
      resumedFromHeight?: number;
      maxAttempt: number;
      gate: string;
    };
    assert.equal(result.resumedFromHeight, PRELOADED, 'the retried round picked up the last heartbeat');
    assert.ok(result.maxAttempt >= 2);
    assert.equal(result.gate, 'opened');

    const open = await btcpayPage();
    assert.equal(open.status, 200, open.body);
    assert.match(open.body, /ssw stand-in: BTCPay Server/);
  });

  test('ssw btcpay status: the node synced with its peer, BTCPay synchronized, the Lightning node, payments open; sats only', () => {
    const r = ssw(['btcpay', 'status', ...target, '--json', ...common()]);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as {
      chain: string;
      node: { height: number; target: number; peers: number; synced: boolean; pruned: boolean };
      btcpay: { synchronized: boolean };
      lightning: { implementation: string; nodeId: string; onChainSats: number; inChannelsSats: number };
      gate: string;
      containers: { name: string; running: boolean }[];
    };
    assert.equal(s.chain, 'regtest');
    assert.equal(s.node.height, CHAIN);
    assert.equal(s.node.synced, true);
    assert.equal(s.node.peers, 1);
    assert.equal(s.node.pruned, false);
    assert.equal(s.btcpay.synchronized, true);
    assert.equal(s.lightning.implementation, 'clightning');
    assert.match(s.lightning.nodeId, /^02a{64}$/);
    assert.equal(s.lightning.onChainSats, 0);
    assert.equal(s.gate, 'open');
    assert.deepEqual(s.containers.map((c) => c.name).sort(), [
      'btcpayserver_bitcoind',
      'btcpayserver_clightning_bitcoin',
      'generated_btcpayserver_1',
      'generated_nbxplorer_1',
      'generated_postgres_1',
    ]);
    assert.ok(s.containers.every((c) => c.running));
    assert.doesNotMatch(r.stdout, /usd|eur|fiat|exchange|price/i, 'no fiat anywhere');
    assert.doesNotMatch(r.stdout, /samples|lastProgress/, 'no sampling internals');
    const text = ssw(['btcpay', 'status', ...target, ...common()]);
    assert.match(text.stdout, new RegExp(`node +synced: block ${CHAIN} of ${CHAIN}`));
    assert.match(text.stdout, /payments +open/);
  });

  test('a second up changes nothing on the btcpayserver instance; a pre-load is now refused', async () => {
    const r = await sswAsync(['up', ...target, ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^stack btcpay-bitcoin: unchanged$/m);
    assert.match(r.stdout, /^stack btcpay-server: unchanged$/m);
    assert.doesNotMatch(r.stdout, /generated BTCPAY_POSTGRES_PASSWORD/);
    const again = await sswAsync(['up', ...target, '--preload-chain', preloadDir, ...common()]);
    assert.notEqual(again.status, 0);
    assert.match(
      again.stderr,
      /--preload-chain is refused: the Bitcoin node of btc has already started on its own data/,
    );
    assert.doesNotMatch(again.stderr, /\n\s+at /, 'no stack trace');
  });

  test('a sync without progress fails clearly, naming the height and the peers; the node keeps running', async () => {
    writeConfig(['BITCOIN_SYNC_STALL_SECONDS=60']);
    await stopTheMiner();
    const r = await sswAsync(['up', ...target, '--sync-report-every', '5', ...common()]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`chain sync made no progress for 60 s: it is at block ${CHAIN} of ${CHAIN}, with no peers`),
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    const closed = await btcpayPage();
    assert.equal(closed.status, 503, 'no payments while the node has no peers');
    await startTheMiner();
    const s = JSON.parse(ssw(['btcpay', 'status', ...target, '--json', ...common()]).stdout) as {
      containers: { name: string; running: boolean }[];
    };
    assert.ok(s.containers.find((c) => c.name === 'btcpayserver_bitcoind')?.running, 'the node was left running');
  });

  test('--no-wait-sync: up finishes without waiting; the wait runs on as chain-sync/lab/btc and opens the names', async () => {
    writeConfig();
    const r = await sswAsync(['up', ...target, '--no-wait-sync', '--sync-report-every', '2', ...common()]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /chain sync not waited for \(--no-wait-sync\); follow it with "ssw status chain-sync\/lab\/btc --follow"/,
    );
    // The miner is back: the node reconnects on its own and the wait, in its own workflow, sees it synced.
    const result = (await withTemporal((c) => c.workflow.getHandle(`chain-sync/${REMOTE}/${DEPLOYMENT}`).result())) as {
      synced: boolean;
      gate: string;
    };
    assert.equal(result.synced, true);
    assert.equal(result.gate, 'opened');
    assert.equal((await btcpayPage()).status, 200);
  });

  test('down stops the BTCPay stacks with the instances', async () => {
    const r = await sswAsync(['down', ...target, '--skip-wwwbackup', ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /btcpay-bitcoin/);
  });
});
