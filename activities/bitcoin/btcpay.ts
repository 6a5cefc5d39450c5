import { setTimeout as delay } from 'node:timers/promises';
import {
  parseChainInfo,
  parsePeers,
  advance,
  describeSync,
  isSynced,
  type SyncProgress,
} from '../../common/bitcoin/sync';
import { loadDeploymentConfig } from '../../common/config';
import { readBtcpayHost } from '../../common/hosts/instance-record';
import type { SsPaths } from '../../common/paths';
import { BITCOIN_RPC_PORT, chainDir, CLIGHTNING_CONTAINER, LND_CONTAINER } from '../../common/stacks/btcpay';
import { configured } from '../config';
import type { DockerConnector } from '../docker/connect';
import { execIn, listStacks } from '../docker/stacks';
import { httpGetOverSsh } from '../ssh/tunnel';
import { readCookie, rpc } from './node-rpc';

/**
 * BTCPay Server's own view of readiness (its health API says whether its
 * NBXplorer is synchronized), and `ssw btcpay status`: the node, BTCPay and
 * the Lightning node, read on the btcpayserver instance over SSH. Amounts in
 * sats only: no exchange rate is ever asked for.
 */

export interface BtcpayHealth {
  answered: boolean;
  synchronized: boolean;
  detail: string;
}

/** BTCPay's /api/v1/health, asked on the instance (its published port 80). */
async function askHealth(client: Parameters<typeof httpGetOverSsh>[0]): Promise<BtcpayHealth> {
  try {
    const r = await httpGetOverSsh(client, '127.0.0.1:80', '/api/v1/health', 'localhost', 10_000);
    if (r.status !== 200) return { answered: r.status > 0, synchronized: false, detail: `HTTP ${r.status}` };
    const body = JSON.parse(r.body) as { synchronized?: boolean };
    return { answered: true, synchronized: body.synchronized === true, detail: r.body.slice(0, 200) };
  } catch (err) {
    return { answered: false, synchronized: false, detail: (err as Error).message.split('\n')[0]! };
  }
}

export interface LightningStatus {
  implementation: 'clightning' | 'lnd';
  running: boolean;
  nodeId?: string;
  channels?: number;
  peers?: number;
  onChainSats?: number;
  inChannelsSats?: number;
  detail?: string;
}

/** What `ssw btcpay status` says of the node: the sync record without its sampling internals. */
export type NodeStatus = Pick<
  SyncProgress,
  'chain' | 'height' | 'headers' | 'target' | 'peers' | 'bestPeerHeight' | 'pruned' | 'initialBlockDownload' | 'rate'
> & { synced: boolean; summary: string; etaS?: number };

export interface BtcpayStatus {
  host: string;
  chain: string;
  node: NodeStatus | { error: string };
  btcpay: BtcpayHealth;
  containers: { name: string; running: boolean }[];
  lightning: LightningStatus;
}

const msatToSat = (v: unknown) => {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.replace(/msat$/, '')) : NaN;
  return Number.isFinite(n) ? Math.floor(n / 1000) : 0;
};

async function lightningStatus(
  docker: Parameters<typeof execIn>[0],
  impl: 'clightning' | 'lnd',
  running: boolean,
): Promise<LightningStatus> {
  if (!running) return { implementation: impl, running, detail: 'not running' };
  const json = async (cmd: string[]) => {
    const r = await execIn(docker, impl === 'lnd' ? LND_CONTAINER : CLIGHTNING_CONTAINER, cmd);
    if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')} exited ${r.exitCode}: ${r.output.slice(0, 200)}`);
    return JSON.parse(r.output) as Record<string, unknown>;
  };
  try {
    if (impl === 'clightning') {
      const info = await json(['lightning-cli', 'getinfo']);
      const funds = await json(['lightning-cli', 'listfunds']);
      const outputs = (funds.outputs as Record<string, unknown>[] | undefined) ?? [];
      const channels = (funds.channels as Record<string, unknown>[] | undefined) ?? [];
      return {
        implementation: impl,
        running,
        nodeId: String(info.id),
        channels: Number(info.num_active_channels ?? channels.length),
        peers: Number(info.num_peers ?? 0),
        onChainSats: outputs.reduce((s, o) => s + msatToSat(o.amount_msat), 0),
        inChannelsSats: channels.reduce((s, c) => s + msatToSat(c.our_amount_msat), 0),
      };
    }
    const info = await json(['lncli', 'getinfo']);
    const wallet = await json(['lncli', 'walletbalance']);
    const chan = await json(['lncli', 'channelbalance']);
    return {
      implementation: impl,
      running,
      nodeId: String(info.identity_pubkey),
      channels: Number(info.num_active_channels ?? 0),
      peers: Number(info.num_peers ?? 0),
      onChainSats: Number(wallet.confirmed_balance ?? 0),
      inChannelsSats: Number(chan.balance ?? 0),
    };
  } catch (err) {
    return { implementation: impl, running, detail: (err as Error).message.split('\n')[0]! };
  }
}

export function createBtcpayActivities(deps: { paths: SsPaths; docker: DockerConnector }) {
  const { paths, docker } = deps;

  /** Waits until BTCPay answers its health API synchronized (after the node's sync; NBXplorer follows it). */
  async function waitForBtcpay(remote: string, deployment: string): Promise<BtcpayHealth> {
    const host = configured(() => readBtcpayHost(paths, remote, deployment));
    return docker.step(`waiting for BTCPay Server on ${host.ssh.host}`, host.ssh, {}, async (s) => {
      for (;;) {
        const h = await askHealth(s.client);
        // Each answer, or refusal, is progress: the instance answers; BTCPay may still be starting.
        s.progress({ btcpay: h });
        if (h.synchronized) return h;
        await delay(2_000, undefined, { signal: s.signal });
      }
    });
  }

  /** `ssw btcpay status`: read-only. */
  async function readBtcpayStatus(remote: string, deployment: string): Promise<BtcpayStatus> {
    const { config, host } = configured(() => ({
      config: loadDeploymentConfig(paths, { remote, deployment }),
      host: readBtcpayHost(paths, remote, deployment),
    }));
    const chain = config.project.bitcoinChain;
    const impl = config.project.btcpay.lightning;
    return docker.session(host.ssh, async (engine, client) => {
      let node: BtcpayStatus['node'];
      try {
        const cookie = await readCookie(client, host.ssh.user, `${chainDir(chain)}/.cookie`);
        if (!cookie) throw new Error('the node has written no RPC cookie yet (not started)');
        const t = { client, listener: `127.0.0.1:${BITCOIN_RPC_PORT}`, cookie, timeoutMs: 15_000 };
        const p = advance(
          undefined,
          parseChainInfo(await rpc(t, 'getblockchaininfo')),
          parsePeers(await rpc(t, 'getpeerinfo')),
          Date.now(),
        );
        node = {
          chain: p.chain,
          height: p.height,
          headers: p.headers,
          target: p.target,
          peers: p.peers,
          bestPeerHeight: p.bestPeerHeight,
          pruned: p.pruned,
          ...(p.initialBlockDownload !== undefined ? { initialBlockDownload: p.initialBlockDownload } : {}),
          rate: p.rate,
          ...(p.etaS !== undefined ? { etaS: p.etaS } : {}),
          synced: isSynced(p),
          summary: describeSync(p),
        };
      } catch (err) {
        node = { error: (err as Error).message.split('\n')[0]! };
      }
      const btcpay = await askHealth(client);
      const containers = Object.entries(await listStacks(engine))
        .filter(([stack]) => stack.startsWith('btcpay-'))
        .flatMap(([, cs]) => cs.map((c) => ({ name: c.name, running: c.running })));
      const lnName = impl === 'lnd' ? LND_CONTAINER : CLIGHTNING_CONTAINER;
      const lightning = await lightningStatus(
        engine,
        impl,
        containers.some((c) => c.name === lnName && c.running),
      );
      return { host: host.ssh.host, chain, node, btcpay, containers, lightning };
    });
  }

  return { waitForBtcpay, readBtcpayStatus };
}
