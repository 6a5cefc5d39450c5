import { continueAsNew, defineSignal, getExternalWorkflowHandle, workflowInfo } from '@temporalio/workflow';
import type { ChainSyncRound } from '../activities/bitcoin/chain-sync';
import type { SyncProgress } from '../common/bitcoin/sync';
import { chainSync, deploymentSteps as quick, stacks } from './activity-options';
import { Progress } from './progress';

/**
 * chainSyncWait: the wait for a deployment's Bitcoin node to catch up with
 * the chain, then for BTCPay Server to say it is synchronized, then the
 * BTCPay names opened in nginx. A step of `ssw up` (its child), or its own
 * workflow with `ssw up --no-wait-sync` (`chain-sync/<remote>/<deployment>`).
 * Runbook:
 *   1. Chain sync: poll the node (height, headers, best peer, rate, ETA),
 *      reported every minute in the memo, `ssw status` and to the parent;
 *      the syncing page on www says "block N of M". A stall fails the wait
 *      with the height and the peers.
 *   2. BTCPay Server's health API answers synchronized (NBXplorer caught up).
 *   3. The BTCPay names open: nginx proxies them to BTCPay.
 * The node syncs on its own: a crash of the worker, or of this machine, loses
 * nothing; the next attempt resumes from the last heartbeat, and a long wait
 * continues as new every few hours so its history stays small.
 */
export interface ChainSyncWaitInput {
  remote: string;
  deployment: string;
  /** How often the progress is reported (a round of polling). @default 60 */
  reportEveryS?: number;
  /** Open the BTCPay names once synced. @default true */
  openGate?: boolean;
  /** Carried across continue-as-new: when the wait began (epoch ms) and the last progress. */
  since?: number;
  previous?: SyncProgress;
}

export interface ChainSyncWaitResult {
  synced: boolean;
  height: number;
  target: number;
  summary: string;
  /** Rounds of polling in this run; the highest activity attempt seen (> 1 after a worker was killed mid-wait). */
  rounds: number;
  maxAttempt: number;
  /** The height a resumed attempt picked the wait up from (a crash resumes, never restarts). */
  resumedFromHeight?: number;
  btcpay: string;
  gate: 'opened' | 'left closed';
}

/** Sent to the parent `up` with each report, so its own progress shows the sync. */
export const chainSyncProgressSignal = defineSignal<[string]>('chainSyncProgress');

export const CHAIN_SYNC_STEPS = {
  sync: 'Chain sync: the node catches up with the chain',
  btcpay: 'BTCPay Server answers synchronized',
  gate: 'Open the BTCPay names in nginx',
};

/** Rounds before the run continues as new (with a 60 s round: five hours). */
const ROUNDS_PER_RUN = 300;

export async function chainSyncWait(input: ChainSyncWaitInput): Promise<ChainSyncWaitResult> {
  const target = { remote: input.remote, deployment: input.deployment };
  const S = CHAIN_SYNC_STEPS;
  const progress = Progress.start('chain-sync', target, Object.values(S));
  // When the wait began, from the workflow's own record (a node that never answers stalls from then).
  const since = input.since ?? workflowInfo().startTime.getTime();
  const parent = workflowInfo().parent;
  const tellParent = async (text: string) => {
    if (!parent) return;
    // The parent may have finished already (`up --no-wait-sync`): nobody to tell, nothing wrong.
    await getExternalWorkflowHandle(parent.workflowId, parent.runId)
      .signal(chainSyncProgressSignal, text)
      .catch(() => undefined);
  };

  let previous = input.previous;
  let rounds = 0;
  let maxAttempt = 0;
  let resumedFromHeight: number | undefined;
  const last = await progress.step(S.sync, async () => {
    for (;;) {
      const r: ChainSyncRound = await chainSync.waitForChainSync({
        ...target,
        ...(previous ? { previous } : {}),
        reportAfterS: input.reportEveryS ?? 60,
        since,
      });
      rounds += 1;
      maxAttempt = Math.max(maxAttempt, r.attempt);
      resumedFromHeight ??= r.resumedFromHeight;
      previous = r.progress ?? previous;
      progress.report(S.sync, r.summary);
      await tellParent(r.summary);
      if (r.synced) return r;
      if (rounds >= ROUNDS_PER_RUN) {
        await continueAsNew<typeof chainSyncWait>({ ...input, since, ...(previous ? { previous } : {}) });
      }
    }
  });

  const health = await progress.step(S.btcpay, () => stacks.waitForBtcpay(input.remote, input.deployment));
  progress.detail(S.btcpay, health.detail);

  let gate: ChainSyncWaitResult['gate'] = 'left closed';
  if (input.openGate === false) progress.skip(S.gate, 'not asked');
  else {
    await progress.step(S.gate, () => quick.openBtcpayGate(input.remote, input.deployment));
    gate = 'opened';
  }
  progress.finish();
  const p = last.progress;
  return {
    synced: true,
    height: p?.height ?? 0,
    target: p?.target ?? 0,
    summary: last.summary,
    rounds,
    maxAttempt,
    ...(resumedFromHeight !== undefined ? { resumedFromHeight } : {}),
    btcpay: health.detail,
    gate,
  };
}
