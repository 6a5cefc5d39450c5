import { formatDuration } from '../../common/bitcoin/sync';
import { UserError } from '../../common/errors';
import type { BtcpayStatusResult } from '../../workflows/btcpay-status';
import { withClient } from '../context';
import { defineCommand, defineGroup, type Command } from '../define-command';
import type { CliIO } from '../io';
import { checkConfig, targetOf, targetOptions } from './deployment';

/**
 * `ssw btcpay status`: the btcpayserver instance's node, BTCPay Server and
 * Lightning node, read by the btcpayStatus workflow (a worker reads the
 * instance; the CLI never does). Amounts in sats: no exchange rate anywhere.
 */

const sats = (n: number | undefined) => (n === undefined ? '?' : `${n.toLocaleString('en-US')} sats`);

export function formatBtcpayStatus(s: BtcpayStatusResult, deployment: string): string[] {
  const out = [`BTCPay of ${deployment} on ${s.host} (${s.chain}):`];
  if ('error' in s.node) out.push(`  node       not answering: ${s.node.error}`);
  else {
    const n = s.node;
    out.push(
      `  node       ${n.synced ? 'synced' : 'syncing'}: block ${n.height} of ${n.target} (headers ${n.headers}), ${n.peers} peer${n.peers === 1 ? '' : 's'}${n.pruned ? ', pruned' : ''}${n.initialBlockDownload ? ', initial block download' : ''}`,
    );
    if (!n.synced && n.etaS) out.push(`             about ${formatDuration(n.etaS)} left at ${n.rate} blocks/s`);
  }
  out.push(
    `  btcpay     ${s.btcpay.synchronized ? 'synchronized' : s.btcpay.answered ? 'not synchronized yet' : 'not answering'} (${s.btcpay.detail})`,
  );
  out.push(
    `  payments   ${s.gate === 'open' ? 'open (nginx proxies the BTCPay names)' : s.gate === 'closed' ? 'closed: the names answer "Syncing" until the wait opens them' : 'unknown (the www instance did not answer)'}`,
  );
  const l = s.lightning;
  out.push(
    l.nodeId
      ? `  lightning  ${l.implementation} ${l.nodeId}: ${l.channels ?? 0} channel(s), ${l.peers ?? 0} peer(s); on chain ${sats(l.onChainSats)}, in channels ${sats(l.inChannelsSats)}`
      : `  lightning  ${l.implementation}: ${l.detail ?? 'no answer'}`,
  );
  for (const c of s.containers) out.push(`  container  ${c.name}: ${c.running ? 'running' : 'stopped'}`);
  return out;
}

function statusCommand(io: CliIO): Command {
  return defineCommand({
    command: 'status',
    describe: "The node's chain and sync, NBXplorer and BTCPay health, the Lightning node's channels and funds (sats)",
    builder: (y) =>
      y.options({
        deployment: targetOptions.deployment,
        remote: targetOptions.remote,
      }),
    handler: async (args) => {
      const a = { ...args, 'skip-wwwserver': false, 'skip-btcpayserver': false, 'skip-lnplayserver': false };
      const target = targetOf(a);
      await checkConfig(a, target);
      const { askReadOnly, ReadFailed } = await import('../read-only');
      const status = await withClient(args, (client) =>
        askReadOnly(client, io, {
          operation: 'btcpay-status',
          target: { remote: target.remote, deployment: target.deployment },
          input: { remote: target.remote, deployment: target.deployment },
          taskQueue: args['task-queue'],
        }).catch((err: unknown) => {
          if (err instanceof ReadFailed)
            throw new UserError(
              `Could not read BTCPay of ${target.deployment} on remote ${target.remote}: ${err.message}`,
            );
          throw err;
        }),
      );
      if (args.json)
        io.out(JSON.stringify({ remote: target.remote, deployment: target.deployment, ...status }, null, 2));
      else for (const line of formatBtcpayStatus(status, target.deployment)) io.out(line);
    },
  });
}

export function btcpayCommand(io: CliIO): Command {
  return defineGroup({
    name: 'btcpay',
    describe: 'BTCPay Server on the btcpayserver instance: status',
    subcommands: [statusCommand(io)],
  });
}
