import type { BtcpayStatus } from '../activities/bitcoin/btcpay';
import { remoteRead } from './activity-options';
import { Progress } from './progress';

/**
 * btcpayStatus (`ssw btcpay status`): the node (chain, height, headers, peers,
 * pruned, sync), NBXplorer and BTCPay's health, the Lightning node (id,
 * channels, sats on chain and in channels), and whether nginx lets the BTCPay
 * names through. Read-only; asked once: a host that does not answer is the answer.
 */
export interface BtcpayStatusInput {
  remote: string;
  deployment: string;
}

export type BtcpayStatusResult = BtcpayStatus & { gate: 'open' | 'closed' | 'unknown' };

export const BTCPAY_STATUS_STEP = 'Read the node, BTCPay Server and Lightning';

export async function btcpayStatus(input: BtcpayStatusInput): Promise<BtcpayStatusResult> {
  const progress = Progress.start('btcpay-status', input, [BTCPAY_STATUS_STEP]);
  const result = await progress.step(BTCPAY_STATUS_STEP, async () => {
    const status = await remoteRead.readBtcpayStatus(input.remote, input.deployment);
    const gate: BtcpayStatusResult['gate'] = await remoteRead.isBtcpayGateOpen(input.remote, input.deployment).then(
      (o): BtcpayStatusResult['gate'] => (o ? 'open' : 'closed'),
      (): BtcpayStatusResult['gate'] => 'unknown',
    );
    return { ...status, gate };
  });
  progress.finish();
  return result;
}
