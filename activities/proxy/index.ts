import { ApplicationFailure, Context } from '@temporalio/activity';
import { FailureType } from '../../common/failure-types';
import type { SsPaths } from '../../common/paths';
import type { WwwHost } from '../../common/tls/plan';
import { asRoot } from '../certbot/commands';
import { withSsh } from '../ssh/connect';
import { runCommand } from '../ssh/run';
import { connectAddress, listeningAddresses } from '../ssh/tunnel';

/**
 * The reverse proxy (nginx) on the www host: a graceful reload, so new
 * certificates are served without dropping a connection, and a check that
 * they really are being served.
 */

export interface ReloadResult {
  /** How the proxy runs: "docker" (ssw's proxy container), "systemd", "process" (a bare nginx master), or "none". */
  how: 'docker' | 'systemd' | 'process' | 'none';
  detail: string;
}

/**
 * Finds the running nginx and reloads it the way it runs: ssw's proxy
 * container (label ssw.role=reverse-proxy), the systemd unit, or each bare
 * nginx master process (found in /proc, its own -c/-p kept). The config is
 * tested first (`nginx -t`), so a broken config is reported and the running
 * proxy keeps serving the old certificate instead of stopping.
 * Exit 3: config test failed; 4: the reload itself failed.
 */
const RELOAD_SCRIPT = `
if command -v docker >/dev/null 2>&1; then
  ids=$(docker ps -q --filter label=ssw.role=reverse-proxy 2>/dev/null)
  if [ -n "$ids" ]; then
    for id in $ids; do
      docker exec "$id" nginx -t >&2 || exit 3
      docker kill --signal HUP "$id" >/dev/null || exit 4
    done
    echo "docker $(echo $ids)"; exit 0
  fi
fi
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  nginx -t >&2 || exit 3
  systemctl reload nginx || exit 4
  echo "systemd nginx.service"; exit 0
fi
found=""
for d in /proc/[0-9]*; do
  title=$(tr '\\0' ' ' < "$d/cmdline" 2>/dev/null) || continue
  case "$title" in "nginx: master process "*) ;; *) continue ;; esac
  pid=\${d#/proc/}
  exe=$(readlink "$d/exe" 2>/dev/null) || continue
  # The master's title is "nginx: master process <argv>": keep its -c/-p/-g for the config test.
  set -- \${title#nginx: master process }
  shift
  "$exe" -t "$@" >&2 || exit 3
  kill -HUP "$pid" || exit 4
  found="$found $pid"
done
if [ -n "$found" ]; then echo "process$found"; exit 0; fi
echo none
`;

/**
 * The SHA-256 fingerprint of the certificate a TLS listener presents for a
 * name (SNI), asked on the host itself with openssl: ssw only observes which
 * certificate is served and compares it with the exact one it expects.
 */
const SERVED_FINGERPRINT_SCRIPT = 'openssl s_client -connect "$1" -servername "$2" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256';

export function createProxyActivities({ paths }: { paths: SsPaths }) {
  const connect = { hostKeys: { knownHostsFile: paths.knownHosts, mode: 'pinned' as const } };

  async function reloadProxy(host: WwwHost): Promise<ReloadResult> {
    return withSsh(host.ssh, connect, async ({ client }) => {
      const r = await runCommand(client, asRoot(host.ssh.user, ['sh', '-c', RELOAD_SCRIPT]), { timeoutMs: 60_000 });
      const tail = r.stderr.trim().split('\n').slice(-10).join('\n');
      if (r.exitCode === 3) {
        throw ApplicationFailure.nonRetryable(
          `nginx on ${host.ssh.host} rejects its configuration, so it was not reloaded and still serves the previous certificates:\n${tail}`,
          FailureType.CommandFailed,
        );
      }
      if (r.exitCode !== 0) throw ApplicationFailure.create({ message: `Reloading nginx on ${host.ssh.host} failed (exit ${r.exitCode}):\n${tail}`, type: FailureType.CommandFailed });
      const out = r.stdout.trim().split('\n').pop() ?? 'none';
      const how = (out.split(' ')[0] ?? 'none') as ReloadResult['how'];
      return { how, detail: out };
    });
  }

  /**
   * Waits until the proxy presents each site's new certificate (nginx swaps
   * workers gracefully, so this takes a moment). Polls, heartbeating; the
   * activity's timeout bounds it. Skipped when nothing listens on the port.
   */
  async function verifyServedCertificates(
    host: WwwHost,
    req: { httpsPort: number; expected: Array<{ domain: string; fingerprint256: string }> },
  ): Promise<{ checked: string[]; listener: string | null }> {
    const ctx = Context.current();
    return withSsh(host.ssh, connect, async ({ client }) => {
      const listeners = await listeningAddresses(client, req.httpsPort);
      if (listeners.length === 0) return { checked: [], listener: null };
      const pending = new Map(req.expected.map((e) => [e.domain, e.fingerprint256]));
      let last = '';
      let delayMs = 100;
      while (pending.size > 0) {
        for (const [domain, fp] of [...pending]) {
          const { host: addr, port } = connectAddress(listeners[0]!);
          const hostPort = addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
          const r = await runCommand(client, ['sh', '-c', SERVED_FINGERPRINT_SCRIPT, 'sh', hostPort, domain], { timeoutMs: 20_000 });
          const served = /Fingerprint=([0-9A-F:]+)/i.exec(r.stdout)?.[1]?.toUpperCase();
          if (served === fp.toUpperCase()) pending.delete(domain);
          else last = served ? `${domain}: still serving ${served}` : `${domain}: no certificate read (${r.stderr.trim().split('\n').pop() ?? 'openssl failed'})`;
        }
        if (pending.size === 0) break;
        ctx.heartbeat({ waitingFor: [...pending.keys()], last });
        await ctx.sleep(delayMs); // a poll interval (cancellable), not a fixed wait: the loop ends on the condition
        delayMs = Math.min(delayMs * 2, 2_000);
      }
      return { checked: req.expected.map((e) => e.domain), listener: listeners[0]! };
    });
  }

  return { reloadProxy, verifyServedCertificates };
}
