/**
 * The harness's Bitcoin parts (test/harness/bitcoin.sh): the ssw-bitcoind wrapper runs btcd on
 * this host as a regtest miner and as a second node that syncs from it over `connect=`, and the
 * ssw-test-bitcoind:1 image runs the same wrapper in the harness Docker with a cookie in /data.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { harness } from '../helpers/harness';
import {
  chainDirOf,
  freePort,
  REGTEST_MINING_ADDR,
  rpcCall,
  startMiner,
  startNode,
  type BitcoinNode,
} from '../helpers/bitcoin';
import { waitFor } from '../helpers/temporal';

interface ChainInfo {
  chain: string;
  blocks: number;
}
interface PeerInfo {
  addr: string;
  startingheight: number;
  currentheight: number;
}

let root: string;
const nodes: BitcoinNode[] = [];

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-btc-'));
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  fs.rmSync(root, { recursive: true, force: true });
});

describe('the ssw-bitcoind wrapper on this host', () => {
  test('a miner generates 500 blocks and a second node syncs them over connect=', async (t) => {
    const p2p = await freePort();
    const miner = await startMiner({
      dir: path.join(root, 'miner'),
      listen: `127.0.0.1:${p2p}`,
      rpcPort: await freePort(),
    });
    nodes.push(miner);
    const cookie = path.join(chainDirOf(miner.dir), '.cookie');
    assert.match(fs.readFileSync(cookie, 'utf8'), /^__cookie__:[0-9a-f]{64}$/);
    assert.equal(fs.statSync(cookie).mode & 0o777, 0o600);

    let t0 = Date.now();
    const hashes = await miner.generate(500);
    t.diagnostic(`generate 500: ${Date.now() - t0} ms`);
    assert.equal(hashes.length, 500);
    assert.equal(await miner.height(), 500);

    t0 = Date.now();
    const peer = await startNode({
      dir: path.join(root, 'peer'),
      listen: `127.0.0.1:${await freePort()}`,
      rpcPort: await freePort(),
      extraArgs: [`connect=127.0.0.1:${p2p}`, 'prune=50000', 'zmqpubrawblock=tcp://0.0.0.0:28332'],
    });
    nodes.push(peer);
    await waitFor(
      'the second node to reach height 500',
      async () => (await peer.rpc<ChainInfo>('getblockchaininfo')).blocks === 500,
      60_000,
      50,
    );
    t.diagnostic(`peer synced 500 blocks in ${Date.now() - t0} ms (start included)`);
    const peers = await peer.rpc<PeerInfo[]>('getpeerinfo');
    const fromMiner = peers.find((p) => p.addr === `127.0.0.1:${p2p}`);
    assert.ok(fromMiner, `no peer 127.0.0.1:${p2p} in ${JSON.stringify(peers)}`);
    assert.equal(fromMiner.startingheight, 500);
    assert.ok(fromMiner.currentheight >= 500, `currentheight ${fromMiner.currentheight}`);

    await peer.stop();
    await miner.stop();
    assert.throws(() => process.kill(miner.pid, 0), /ESRCH/);
    assert.throws(() => process.kill(peer.pid, 0), /ESRCH/);
  });
});

describe('the ssw-test-bitcoind:1 image', () => {
  test('serves RPC on its rpcport with the cookie it writes in /data/regtest, and keeps its chain across a restart', async () => {
    const env = harness();
    const docker = (...args: string[]) =>
      execFileSync('docker', ['-H', `unix://${env.docker.socket}`, ...args], { encoding: 'utf8', stdio: 'pipe' });
    const data = fs.mkdtempSync(path.join(root, 'container-'));
    const name = `ssw-itest-bitcoind-${process.pid}-${Date.now()}`;
    const rpcPort = await freePort();
    const p2p = await freePort();
    // The harness dockerd has no bridge (--bridge=none): the container shares this host's network.
    docker(
      'run', '-d', '--name', name, '--network', 'host', '-v', `${data}:/data`,
      '-e', `BITCOIN_EXTRA_ARGS=rpcport=${rpcPort}\nport=${p2p}\nwhitelist=0.0.0.0/0`, '-e', `MINING_ADDR=${REGTEST_MINING_ADDR}`,
      env.bitcoin.images.bitcoind,
    ); // prettier-ignore
    try {
      const info = await waitFor(
        `the container's btcd to answer on 127.0.0.1:${rpcPort}`,
        () => rpcCall<ChainInfo>(data, rpcPort, 'getblockchaininfo', []).catch(() => undefined),
        30_000,
        50,
      );
      assert.equal(info.chain, 'regtest');
      assert.equal(info.blocks, 0);
      assert.match(fs.readFileSync(path.join(chainDirOf(data), '.cookie'), 'utf8'), /^__cookie__:[0-9a-f]{64}$/);
      // The real image's health checks call bitcoin-cli; the image's is btcctl with the wrapper's config.
      assert.equal(
        JSON.parse(docker('exec', name, 'bitcoin-cli', '-datadir=/data', 'getblockchaininfo')).chain,
        'regtest',
      );
      // btcd is PID 1 (exec'd by the wrapper), so docker stop's SIGTERM reaches it.
      assert.match(docker('exec', name, 'cat', '/proc/1/cmdline'), /^\/usr\/local\/bin\/btcd\0/);

      // A restarted node keeps its regtest chain (stock btcd deletes it at start) under a new cookie.
      await rpcCall(data, rpcPort, 'generate', [10]);
      const before = fs.readFileSync(path.join(chainDirOf(data), '.cookie'), 'utf8');
      docker('restart', name);
      const again = await waitFor(
        'the restarted container to answer',
        () => rpcCall<ChainInfo>(data, rpcPort, 'getblockchaininfo', []).catch(() => undefined),
        30_000,
        50,
      );
      assert.equal(again.blocks, 10);
      assert.notEqual(fs.readFileSync(path.join(chainDirOf(data), '.cookie'), 'utf8'), before);
    } finally {
      docker('rm', '-f', name);
    }
  });
});

describe('the ssw-test-btcpay-standin:1 image', () => {
  test('answers as BTCPay Server over HTTP, and as PostgreSQL and Core Lightning to their CLIs', async () => {
    const env = harness();
    const docker = (...args: string[]) =>
      execFileSync('docker', ['-H', `unix://${env.docker.socket}`, ...args], { encoding: 'utf8', stdio: 'pipe' });
    const base = `ssw-itest-standin-${process.pid}-${Date.now()}`;
    const names: string[] = [];
    const run = (role: string, network: string) => {
      const name = `${base}-${role}`;
      names.push(name);
      docker('run', '-d', '--name', name, '--network', network, env.bitcoin.images.standin, role);
      return name;
    };
    try {
      run('btcpay', 'host'); // the harness dockerd has no bridge: BTCPay's port on this host's loopback
      const pg = run('postgres', 'none');
      const cln = run('clightning', 'none');
      const health = await waitFor(
        'the BTCPay stand-in to answer /api/v1/health',
        () =>
          fetch('http://127.0.0.1:49392/api/v1/health').then(
            (r) => (r.ok ? r.json() : undefined),
            () => undefined,
          ),
        30_000,
        50,
      );
      assert.deepEqual(health, { synchronized: true });
      assert.match(await (await fetch('http://127.0.0.1:49392/')).text(), /BTCPay Server/);
      docker('exec', pg, 'pg_isready', '-U', 'postgres'); // throws unless it exits 0
      const info = JSON.parse(docker('exec', cln, 'lightning-cli', '--network=regtest', 'getinfo')) as Record<
        string,
        unknown
      >;
      assert.match(String(info.id), /^02[0-9a-f]{64}$/);
      assert.equal(info.network, 'regtest');
      assert.deepEqual(JSON.parse(docker('exec', cln, 'lightning-cli', 'listfunds')), { outputs: [], channels: [] });
    } finally {
      for (const n of names) docker('rm', '-f', n);
    }
  });
});
