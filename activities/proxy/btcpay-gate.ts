import { syncingPage, type SyncProgress } from '../../common/bitcoin/sync';
import { readWwwHost } from '../../common/hosts/instance-record';
import type { SsPaths } from '../../common/paths';
import { BTCPAY_GATE_OPEN, BTCPAY_SYNCING_PAGE } from '../../common/stacks/proxy';
import { configured } from '../config';
import type { SshConnector } from '../ssh/connector';
import { runChecked } from '../ssh/run';

/**
 * The BTCPay gate in the www instance's nginx (see common/stacks/proxy.ts):
 * two files in a directory the proxy mounts read-only. `syncing.html` is the
 * page BTCPay's names answer with (503) while the gate is closed; the file
 * `open` lets requests through to BTCPay. Files, not config: opening or
 * closing needs no reload, and nginx looks at every request. Written as the
 * SSH user, who owns the data path: a directory made by root here would keep
 * that user from writing the proxy's own files beside it.
 */

/** The gate directory on the instance, under its data path. */
function gateDir(dataPath: string): string {
  return `${dataPath}/reverse-proxy/btcpay-gate`;
}

export function createBtcpayGateActivities(deps: { paths: SsPaths; ssh: SshConnector }) {
  const { paths, ssh } = deps;

  /** Writes the syncing page and removes `open`: BTCPay's names answer "Syncing, block N of M" (503). */
  async function closeBtcpayGate(remote: string, deployment: string, progress?: SyncProgress): Promise<void> {
    const www = configured(() => readWwwHost(paths, remote, deployment));
    const dir = gateDir(www.dataPath);
    await ssh.session(www.ssh, ({ client }) =>
      runChecked(
        client,
        [
          'sh',
          '-c',
          // Written beside and renamed: nginx never serves half a page.
          'mkdir -p "$1" && cat > "$1/.$2.tmp" && chmod 644 "$1/.$2.tmp" && mv -f "$1/.$2.tmp" "$1/$2" && rm -f "$1/$3"',
          'sh',
          dir,
          BTCPAY_SYNCING_PAGE,
          BTCPAY_GATE_OPEN,
        ],
        { stdin: syncingPage(progress), timeoutMs: 30_000 },
      ),
    );
  }

  /** Lets BTCPay's names through to BTCPay Server: the node is synced and BTCPay says so. */
  async function openBtcpayGate(remote: string, deployment: string): Promise<void> {
    const www = configured(() => readWwwHost(paths, remote, deployment));
    await ssh.session(www.ssh, ({ client }) =>
      runChecked(
        client,
        ['sh', '-c', 'mkdir -p "$1" && touch "$1/$2"', 'sh', gateDir(www.dataPath), BTCPAY_GATE_OPEN],
        { timeoutMs: 30_000 },
      ),
    );
  }

  /** Whether the gate is open (for `ssw btcpay status`). */
  async function isBtcpayGateOpen(remote: string, deployment: string): Promise<boolean> {
    const www = configured(() => readWwwHost(paths, remote, deployment));
    const r = await ssh.session(www.ssh, ({ client }) =>
      runChecked(
        client,
        ['sh', '-c', '[ -f "$1/$2" ] && echo open || echo closed', 'sh', gateDir(www.dataPath), BTCPAY_GATE_OPEN],
        {
          timeoutMs: 30_000,
        },
      ),
    );
    return r.stdout.trim() === 'open';
  }

  return { closeBtcpayGate, openBtcpayGate, isBtcpayGateOpen };
}
