/**
 * A Bitcoin node's chain sync as ssw follows it: what the node's JSON-RPC
 * says (getblockchaininfo, getpeerinfo), folded into a progress record the
 * chain-sync wait heartbeats and the operator reads (height of target, rate,
 * ETA), and the two judgements the wait makes from it: synced, or stalled.
 * Pure (workflows and the CLI use it too): time comes in as an argument.
 *
 * Both Bitcoin Core and btcd (the tests' node) answer these calls; btcd
 * reports headers equal to blocks and neither initialblockdownload nor
 * verificationprogress, so the target also takes the best peer's height.
 */

export interface ChainInfo {
  chain: string;
  blocks: number;
  headers: number;
  /** Bitcoin Core only. */
  initialBlockDownload?: boolean;
  verificationProgress?: number;
  pruned: boolean;
  pruneHeight?: number;
  sizeOnDisk?: number;
}

export interface PeerSummary {
  count: number;
  /** The highest height a peer has told of (startingheight, or synced_headers/currentheight when known). */
  bestHeight: number;
  /** "addr (height)" of a few peers, for messages. */
  sample: string[];
}

export interface SyncProgress {
  chain: string;
  height: number;
  headers: number;
  /** What the node syncs towards: the larger of its headers and its best peer's height. */
  target: number;
  peers: number;
  bestPeerHeight: number;
  peerSample: string[];
  pruned: boolean;
  initialBlockDownload?: boolean;
  /** Blocks per second over the last samples (0 until two samples). */
  rate: number;
  /** Seconds left at that rate; absent when unknown. */
  etaS?: number;
  /** When (epoch ms) and at which height the height last went up: the stall clock. */
  lastProgressAt: number;
  lastProgressHeight: number;
  /** [epoch ms, height] of the last few polls, for the rate. */
  samples: [number, number][];
  at: number;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** getblockchaininfo's answer, as Bitcoin Core or btcd give it. */
export function parseChainInfo(raw: unknown): ChainInfo {
  const r = (raw ?? {}) as Record<string, unknown>;
  const blocks = num(r.blocks);
  if (blocks === undefined)
    throw new Error(`getblockchaininfo answered without a block height: ${JSON.stringify(raw)}`);
  const headers = num(r.headers) ?? blocks;
  return {
    chain: typeof r.chain === 'string' ? r.chain : 'unknown',
    blocks,
    headers,
    ...(typeof r.initialblockdownload === 'boolean' ? { initialBlockDownload: r.initialblockdownload } : {}),
    ...(num(r.verificationprogress) !== undefined ? { verificationProgress: num(r.verificationprogress) } : {}),
    pruned: r.pruned === true,
    ...(num(r.pruneheight) !== undefined ? { pruneHeight: num(r.pruneheight) } : {}),
    ...(num(r.size_on_disk) !== undefined ? { sizeOnDisk: num(r.size_on_disk) } : {}),
  };
}

/** getpeerinfo's answer: how many peers and how far the best of them is. */
export function parsePeers(raw: unknown): PeerSummary {
  const list = Array.isArray(raw) ? (raw as Record<string, unknown>[]) : [];
  const heightOf = (p: Record<string, unknown>) =>
    Math.max(num(p.synced_headers) ?? -1, num(p.currentheight) ?? -1, num(p.startingheight) ?? -1);
  return {
    count: list.length,
    bestHeight: list.reduce((m, p) => Math.max(m, heightOf(p)), 0),
    sample: list.slice(0, 3).map((p) => `${String(p.addr ?? '?')} (height ${Math.max(heightOf(p), 0)})`),
  };
}

const SAMPLES = 10;

/** The next progress record from the previous one (or none) and this poll's answers. */
export function advance(
  prev: SyncProgress | undefined,
  info: ChainInfo,
  peers: PeerSummary,
  now: number,
): SyncProgress {
  const samples: [number, number][] = [...(prev?.samples ?? []), [now, info.blocks] as [number, number]].slice(
    -SAMPLES,
  );
  const [t0, h0] = samples[0]!;
  const rate = now > t0 ? Math.max(0, ((info.blocks - h0) * 1000) / (now - t0)) : 0;
  const target = Math.max(info.headers, peers.bestHeight, info.blocks);
  const moved = !prev || info.blocks > prev.lastProgressHeight;
  const left = target - info.blocks;
  return {
    chain: info.chain,
    height: info.blocks,
    headers: info.headers,
    target,
    peers: peers.count,
    bestPeerHeight: peers.bestHeight,
    peerSample: peers.sample,
    pruned: info.pruned,
    ...(info.initialBlockDownload !== undefined ? { initialBlockDownload: info.initialBlockDownload } : {}),
    rate: Math.round(rate * 100) / 100,
    ...(left > 0 && rate > 0 ? { etaS: Math.ceil(left / rate) } : left <= 0 ? { etaS: 0 } : {}),
    lastProgressAt: moved ? now : prev.lastProgressAt,
    lastProgressHeight: moved ? info.blocks : prev.lastProgressHeight,
    samples,
    at: now,
  };
}

/**
 * Synced: at least one peer, the node at its target, and (Bitcoin Core) out of
 * initial block download. A node without peers is not synced, whatever it says:
 * it cannot know what it is missing.
 */
export function isSynced(p: SyncProgress): boolean {
  return p.peers > 0 && p.height >= p.target && p.initialBlockDownload !== true;
}

/** No new block for `stallS` seconds while not synced. */
export function isStalled(p: SyncProgress, stallS: number): boolean {
  return !isSynced(p) && p.at - p.lastProgressAt >= stallS * 1000;
}

export function formatDuration(s: number): string {
  if (s < 90) return `${Math.max(0, Math.round(s))} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 48 * 3600) return `${Math.round(s / 360) / 10} h`;
  return `${Math.round(s / 8640) / 10} days`;
}

/** "block 1200 of 150000 (0.8 %), 1 peer, 950 blocks/s, about 3 min left; pruned node" */
export function describeSync(p: SyncProgress): string {
  const pct = p.target > 0 ? Math.floor((p.height / p.target) * 1000) / 10 : 0;
  const parts = [
    `block ${p.height} of ${p.target} (${pct} %)`,
    `${p.peers} peer${p.peers === 1 ? '' : 's'}`,
    ...(p.rate > 0 ? [`${p.rate} blocks/s`] : []),
    ...(isSynced(p) ? ['synced'] : p.etaS !== undefined && p.etaS > 0 ? [`about ${formatDuration(p.etaS)} left`] : []),
  ];
  const kind = [
    ...(p.pruned ? ['pruned node'] : []),
    ...(p.initialBlockDownload === true ? ['in initial block download'] : []),
  ];
  return `${parts.join(', ')}${kind.length ? `; ${kind.join(', ')}` : ''}`;
}

/** The failure message of a stalled sync: the height, for how long, and the peers. */
export function stalledMessage(p: SyncProgress, stallS: number): string {
  const peers = p.peers
    ? `${p.peers} peer${p.peers === 1 ? '' : 's'} (${p.peerSample.join(', ')}; best at height ${p.bestPeerHeight})`
    : 'no peers: check the node can reach the network, or BITCOIN_PEERS in project.conf';
  return `The ${p.chain} node's chain sync made no progress for ${formatDuration(stallS)}: it is at block ${p.height} of ${p.target}, with ${peers}. The node keeps running and syncing on its own; ssw up again resumes the wait (BITCOIN_SYNC_STALL_SECONDS sets how long a stall may last).`;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The page nginx answers BTCPay's names with (503) until the node is synced: no payment can be taken meanwhile. */
export function syncingPage(p: SyncProgress | undefined): string {
  const what = p ? describeSync(p) : 'the node is starting';
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="30">',
    '<title>Syncing the Bitcoin node</title></head><body>',
    `<h1>Syncing, ${p ? `block ${p.height} of ${p.target}` : 'starting'}</h1>`,
    `<p>This store's Bitcoin node is catching up with the chain (${escapeHtml(what)}). Payments open once it is synced; this page refreshes itself.</p>`,
    '</body></html>',
    '',
  ].join('\n');
}
