import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { setTimeout as delay } from 'node:timers/promises';
import {
  advance,
  describeSync,
  isStalled,
  isSynced,
  parseChainInfo,
  parsePeers,
  stalledMessage,
  type SyncProgress,
} from '../../common/bitcoin/sync';
import { loadDeploymentConfig } from '../../common/config';
import { FailureType } from '../../common/failure-types';
import { readBtcpayHost } from '../../common/hosts/instance-record';
import type { SsPaths } from '../../common/paths';
import { BITCOIN_CONTAINER, BITCOIN_RPC_PORT, chainDir } from '../../common/stacks/btcpay';
import { configured } from '../config';
import type { SshConnector } from '../ssh';
import { isWarmingUp, readCookie, rpc, RpcError } from './node-rpc';

/**
 * The chain-sync wait's activity: one round of polling the node until it is
 * synced, the round's time is up (the workflow reports and asks again), or
 * the sync stalls. The node syncs on its own; this only watches. Every poll
 * heartbeats the progress record, so a worker killed mid-wait resumes from
 * its last heartbeat: the rate, the ETA and the stall clock carry over.
 */

export interface ChainSyncInput {
  remote: string;
  deployment: string;
  /** The last round's progress (the workflow keeps it between rounds). */
  previous?: SyncProgress;
  /** End the round after this long without being synced, so the workflow can report. @default 60 */
  reportAfterS?: number;
  /** When the wait began (epoch ms, the workflow's clock): a node that never answers stalls from then. */
  since?: number;
}

export interface ChainSyncRound {
  synced: boolean;
  /** Absent while the node has not answered yet (starting, loading its block index). */
  progress?: SyncProgress;
  summary: string;
  /** Which attempt of the activity this was, and the height it resumed from (a crash resumes, never restarts). */
  attempt: number;
  resumedFromHeight?: number;
}

const POLL_MS = 2_000;
const PAGE_EVERY_MS = 10_000;

export function createChainSyncActivities(deps: {
  paths: SsPaths;
  ssh: SshConnector;
  /** Puts "Syncing, block N of M" on the www instance's BTCPay page (see ../proxy/btcpay-gate). */
  showSyncing: (remote: string, deployment: string, progress: SyncProgress | undefined) => Promise<void>;
}) {
  const { paths, ssh, showSyncing } = deps;

  async function waitForChainSync(input: ChainSyncInput): Promise<ChainSyncRound> {
    const ctx = Context.current();
    const { config, host } = configured(() => ({
      config: loadDeploymentConfig(paths, input),
      host: readBtcpayHost(paths, input.remote, input.deployment),
    }));
    const stallS = config.project.btcpay.syncStallSeconds;
    const cookieFile = `${chainDir(config.project.bitcoinChain)}/.cookie`;
    const resumed = (ctx.info.heartbeatDetails as { progress?: SyncProgress } | undefined)?.progress;
    let progress = resumed ?? input.previous;
    const started = Date.now();
    const reportAfterMs = (input.reportAfterS ?? 60) * 1000;
    const round = (synced: boolean): ChainSyncRound => ({
      synced,
      ...(progress ? { progress } : {}),
      summary: progress ? describeSync(progress) : 'the node is starting',
      attempt: ctx.info.attempt,
      ...(resumed ? { resumedFromHeight: resumed.height } : {}),
    });

    return ssh.step(
      `waiting for the ${config.project.bitcoinChain} node's chain sync on ${host.ssh.host}`,
      host.ssh,
      { progress },
      async (s) => {
        let pageAt = 0;
        for (;;) {
          const answer = await poll(s.client, host.ssh.user, cookieFile, s.signal);
          if (answer) progress = advance(progress, answer.info, answer.peers, Date.now());
          s.progress({ progress });
          if (progress && answer && isSynced(progress)) return round(true);
          if (progress && isStalled({ ...progress, at: Date.now() }, stallS)) {
            throw ApplicationFailure.create({
              message: stalledMessage({ ...progress, at: Date.now() }, stallS),
              type: FailureType.ChainSyncStalled,
              details: [progress],
            });
          }
          if (!progress && input.since !== undefined && Date.now() - input.since >= stallS * 1000) {
            throw ApplicationFailure.create({
              message: `The ${config.project.bitcoinChain} node on ${host.ssh.host} has not answered its RPC (getblockchaininfo on 127.0.0.1:${BITCOIN_RPC_PORT}, cookie ${cookieFile}) since the wait began ${Math.round((Date.now() - input.since) / 1000)} s ago. Look at the container ${BITCOIN_CONTAINER}'s log on that instance; ssw up again resumes the wait.`,
              type: FailureType.ChainSyncStalled,
            });
          }
          if (Date.now() - pageAt >= PAGE_EVERY_MS) {
            // The page is a courtesy to the store's visitors: a www instance that does not answer must not stop
            // the wait.
            await showSyncing(input.remote, input.deployment, progress).catch(() => undefined);
            pageAt = Date.now();
          }
          if (Date.now() - started >= reportAfterMs) return round(false);
          await delay(POLL_MS, undefined, { signal: s.signal });
        }
      },
    );
  }

  return { waitForChainSync };
}

/** One look at the node; undefined while it is starting (no cookie yet, RPC not listening, warming up). */
async function poll(
  client: Parameters<typeof rpc>[0]['client'],
  user: string,
  cookieFile: string,
  signal: AbortSignal,
): Promise<{ info: ReturnType<typeof parseChainInfo>; peers: ReturnType<typeof parsePeers> } | undefined> {
  const cookie = await readCookie(client, user, cookieFile, signal);
  if (!cookie) return undefined;
  const t = { client, listener: `127.0.0.1:${BITCOIN_RPC_PORT}`, cookie };
  try {
    const info = parseChainInfo(await rpc(t, 'getblockchaininfo'));
    const peers = parsePeers(await rpc(t, 'getpeerinfo'));
    return { info, peers };
  } catch (err) {
    // Starting: nothing listens yet (the channel open is refused), a stale cookie, or still loading its index.
    if (isWarmingUp(err) || (err instanceof RpcError && err.code === 401)) return undefined;
    if (/refused|closed without answering|Connection/i.test((err as Error).message)) return undefined;
    throw err;
  }
}
