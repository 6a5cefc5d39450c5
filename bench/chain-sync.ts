/**
 * The chain-sync wait against the node's own sync, on the harness (needs `bash test/harness/start.sh`): a
 * miner (btcd, regtest) with N blocks, a second btcd syncing from it, and beside it the wait's own poll loop
 * (the chain-sync activity's: the node's cookie and JSON-RPC through an SSH connection to the harness sshd,
 * every 2 s). Measures the node's own sync time (seen by a 50 ms poller on its RPC), when the wait saw it
 * synced (the overhead of waiting), and the cost of one poll round over SSH.
 * Writes bench/results/chain-sync.json. Usage: npm run bench:chain-sync [-- --blocks 20000]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { readCookie, rpc } from '../activities/bitcoin/node-rpc';
import { connectSsh } from '../activities/ssh/connect';
import { advance, isSynced, parseChainInfo, parsePeers, type SyncProgress } from '../common/bitcoin/sync';
import { chainDirOf, freePort, startMiner, startNode } from '../test/helpers/bitcoin';
import { harness } from '../test/helpers/harness';

const blocks = Number(process.argv[process.argv.indexOf('--blocks') + 1]) || 20_000;
const POLL_MS = 2_000; // activities/bitcoin/chain-sync.ts

const quantile = (values: number[], q: number) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length - 1) * q))]!;
};

async function main(): Promise<void> {
  const h = harness();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-bench-sync-'));
  const [p2p, rpcA, p2pB, rpcB] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const miner = await startMiner({ dir: path.join(dir, 'miner'), listen: `127.0.0.1:${p2p}`, rpcPort: rpcA });
  let follower: Awaited<ReturnType<typeof startNode>> | undefined;
  // The harness sshd's key pinned in a known_hosts of this run's own, as every workflow step pins it.
  const knownHostsFile = path.join(dir, 'known_hosts');
  fs.writeFileSync(knownHostsFile, `${h.ssh.hostKeyLine}\n`);
  const ssh = await connectSsh(
    { host: h.ssh.host, port: h.ssh.port, user: h.ssh.user, privateKeyPath: h.ssh.privateKeyPath },
    { hostKeys: { mode: 'pinned', knownHostsFile } },
  );
  try {
    const t0 = Date.now();
    for (let left = blocks; left > 0; left -= 2000) await miner.generate(Math.min(2000, left));
    const generateMs = Date.now() - t0;

    const nodeDir = path.join(dir, 'node');
    const cookieFile = path.join(chainDirOf(nodeDir), '.cookie');
    const start = Date.now();
    follower = await startNode({
      dir: nodeDir,
      listen: `127.0.0.1:${p2pB}`,
      rpcPort: rpcB,
      extraArgs: [`connect=127.0.0.1:${p2p}`],
    });
    // The node's own sync, as fast as its RPC can tell.
    const nodeDone = (async () => {
      while ((await follower!.height()) < blocks) await delay(50);
      return Date.now() - start;
    })();
    // The wait, as the activity polls: through SSH, with the cookie read over SSH, every POLL_MS.
    const rounds: number[] = [];
    const waitDone = (async () => {
      let p: SyncProgress | undefined;
      for (;;) {
        const r0 = Date.now();
        const cookie = await readCookie(ssh.client, h.ssh.user, cookieFile);
        if (cookie) {
          const t = { client: ssh.client, listener: `127.0.0.1:${rpcB}`, cookie };
          const info = parseChainInfo(await rpc(t, 'getblockchaininfo'));
          const peers = parsePeers(await rpc(t, 'getpeerinfo'));
          p = advance(p, info, peers, Date.now());
          rounds.push(Date.now() - r0);
          if (isSynced(p)) return Date.now() - start;
        }
        await delay(POLL_MS);
      }
    })();
    const [nodeSyncMs, waitSawMs] = await Promise.all([nodeDone, waitDone]);
    const result = {
      at: new Date().toISOString(),
      blocks,
      generateMs,
      nodeSyncMs,
      nodeBlocksPerS: Math.round(blocks / (nodeSyncMs / 1000)),
      waitSawSyncedMs: waitSawMs,
      waitOverheadMs: waitSawMs - nodeSyncMs,
      pollIntervalMs: POLL_MS,
      pollRoundMs: { p50: quantile(rounds, 0.5), p95: quantile(rounds, 0.95), n: rounds.length },
    };
    fs.mkdirSync(path.join(__dirname, '../../bench/results'), { recursive: true });
    fs.writeFileSync(
      path.join(__dirname, '../../bench/results/chain-sync.json'),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    console.log(JSON.stringify(result, null, 2));
  } finally {
    ssh.client.end();
    await follower?.stop();
    await miner.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
