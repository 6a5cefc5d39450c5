import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  advance,
  describeSync,
  isStalled,
  isSynced,
  parseChainInfo,
  parsePeers,
  stalledMessage,
  syncingPage,
  type SyncProgress,
} from '../../common/bitcoin/sync';

/** The chain-sync record from getblockchaininfo/getpeerinfo answers, as Bitcoin Core and btcd give them. */

const core = (blocks: number, headers: number, ibd: boolean, pruned = false) => ({
  chain: 'main',
  blocks,
  headers,
  initialblockdownload: ibd,
  verificationprogress: blocks / headers,
  pruned,
  ...(pruned ? { pruneheight: 12 } : {}),
});
const btcd = (blocks: number) => ({ chain: 'regtest', blocks, headers: blocks, pruned: false });
const peer = (addr: string, currentheight: number) => ({ addr, startingheight: 10, currentheight });

describe('chain sync', () => {
  test('btcd: the target is the best peer, since headers equal blocks', () => {
    const p = advance(undefined, parseChainInfo(btcd(100)), parsePeers([peer('10.0.0.1:18444', 5000)]), 1_000);
    assert.equal(p.height, 100);
    assert.equal(p.target, 5000);
    assert.equal(p.initialBlockDownload, undefined);
    assert.equal(isSynced(p), false);
    assert.match(describeSync(p), /^block 100 of 5000 \(2 %\), 1 peer$/);
  });

  test('rate and ETA from successive polls; the stall clock moves only with the height', () => {
    const peers = parsePeers([peer('a', 2100)]);
    let p = advance(undefined, parseChainInfo(btcd(100)), peers, 0);
    p = advance(p, parseChainInfo(btcd(1100)), peers, 1_000);
    assert.equal(p.rate, 1000);
    assert.equal(p.etaS, 1);
    assert.equal(p.lastProgressAt, 1_000);
    const still = advance(p, parseChainInfo(btcd(1100)), peers, 61_000);
    assert.equal(still.lastProgressAt, 1_000);
    assert.equal(isStalled(still, 60), true);
    assert.equal(isStalled(still, 61), false);
    assert.match(
      stalledMessage(still, 60),
      /block 1100 of 2100, with 1 peer \(a \(height 2100\); best at height 2100\)/,
    );
  });

  test('no peers is never synced, and the stall message says so', () => {
    const p = advance(undefined, parseChainInfo(btcd(500)), parsePeers([]), 0);
    assert.equal(p.target, 500);
    assert.equal(isSynced(p), false);
    const later = advance(p, parseChainInfo(btcd(500)), parsePeers([]), 3_600_000);
    assert.match(stalledMessage(later, 1800), /at block 500 of 500, with no peers/);
  });

  test('Bitcoin Core: initial block download and a pruned node are told apart', () => {
    const ibd = advance(undefined, parseChainInfo(core(800_000, 870_000, true)), parsePeers([peer('b', 870_000)]), 0);
    assert.match(describeSync(ibd), /in initial block download$/);
    assert.doesNotMatch(describeSync(ibd), /pruned/);
    const pruned = advance(
      undefined,
      parseChainInfo(core(870_000, 870_000, false, true)),
      parsePeers([peer('b', 870_000)]),
      0,
    );
    assert.equal(isSynced(pruned), true);
    assert.match(describeSync(pruned), /synced; pruned node$/);
    // At the tip by height, but Core still says IBD: not synced yet.
    const tipIbd = advance(
      undefined,
      parseChainInfo(core(870_000, 870_000, true)),
      parsePeers([peer('b', 870_000)]),
      0,
    );
    assert.equal(isSynced(tipIbd), false);
  });

  test('a peer ahead of the headers raises the target', () => {
    const p = advance(undefined, parseChainInfo(core(10, 20, true)), parsePeers([peer('c', 30)]), 0);
    assert.equal(p.target, 30);
  });

  test('a malformed answer is an error, not block 0', () => {
    assert.throws(() => parseChainInfo({ chain: 'main' }), /without a block height/);
  });

  test('the syncing page names block N of M and escapes what it quotes', () => {
    const p: SyncProgress = advance(undefined, parseChainInfo(btcd(7)), parsePeers([peer('<x>', 9)]), 0);
    const html = syncingPage(p);
    assert.match(html, /<h1>Syncing, block 7 of 10<\/h1>/);
    assert.doesNotMatch(html, /<x>/);
    assert.match(syncingPage(undefined), /Syncing, starting/);
  });
});
