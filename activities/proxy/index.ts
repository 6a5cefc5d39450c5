import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../../common/failure-types';
import type { WwwHost } from '../../common/hosts';
import { asRoot } from '../../common/hosts';
import { pollBeating } from '../heartbeat';
import type { SshConnector } from '../ssh/connector';
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
  /**
   * Processes that call themselves nginx but were left alone (not root's distribution nginx), for the operator to look
   * at.
   */
  ignored?: string[];
}

/**
 * Finds the running nginx and signals it the way it runs: ssw's proxy
 * container (label ssw.role=reverse-proxy), the systemd unit, or a bare nginx
 * master process. For the first two the config is tested first (`nginx -t`),
 * so a broken config is reported and the running proxy keeps serving the old
 * certificate instead of stopping. Exit 3: config test failed; 4: the reload
 * itself failed.
 *
 * A bare master is only ever *signalled*, never run: this script runs as root,
 * and a process's title and arguments are whatever its owner chose (any user
 * can `exec -a "nginx: master process …"`, or start the real binary with its
 * own `-c` and a `load_module`). So a master counts only when it runs as uid 0
 * from a root-owned binary that no one else can write and that the
 * distribution's nginx package installed; its arguments are never reused.
 * Every other look-alike is named on stderr and left alone. Whether the master
 * took the new config is seen afterwards from its workers (see reloadProxy).
 * Output for masters: "process PID:WORKER,WORKER PID:…".
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
distro_nginx() {
  case "$1" in /*) ;; *) return 1 ;; esac
  [ -f "$1" ] && [ ! -L "$1" ] || return 1
  set -- "$1" $(stat -c '%u %a' "$1" 2>/dev/null)
  [ "$2" = 0 ] || return 1
  case "$3" in *[2367]?|*[2367]) return 1 ;; esac
  if command -v dpkg-query >/dev/null 2>&1; then
    dpkg-query -S "$1" 2>/dev/null | grep -q '^nginx[a-z0-9.+-]*: '
  else
    [ "$1" = /usr/sbin/nginx ]
  fi
}
found=""
for d in /proc/[0-9]*; do
  title=$(tr '\\0' ' ' < "$d/cmdline" 2>/dev/null) || continue
  case "$title" in "nginx: master process "*) ;; *) continue ;; esac
  pid=\${d#/proc/}
  uid=$(awk '/^Uid:/ { print $2; exit }' "$d/status" 2>/dev/null)
  exe=$(readlink "$d/exe" 2>/dev/null)
  if [ "$uid" != 0 ] || ! distro_nginx "$exe"; then
    echo "ignored process $pid: it calls itself nginx but is not root's distribution nginx (uid $uid, binary $exe)" >&2
    continue
  fi
  workers=$(ps -o pid= --ppid "$pid" | tr -s ' \\n' ',' | sed 's/^,//; s/,$//')
  kill -HUP "$pid" || exit 4
  found="$found $pid:$workers"
done
if [ -n "$found" ]; then echo "process$found"; exit 0; fi
echo none
`;

/** The worker PIDs of an nginx master, comma-separated (its children). */
const WORKERS_SCRIPT = "ps -o pid= --ppid \"$1\" | tr -s ' \\n' ',' | sed 's/^,//; s/,$//'";

/** How long a signalled master may take to start new workers before its reload counts as refused. */
const MASTER_RELOAD_LIMIT_MS = 20_000;

/**
 * The SHA-256 fingerprint of the certificate a TLS listener presents for a
 * name (SNI), asked on the host itself with openssl: ssw only observes which
 * certificate is served and compares it with the exact one it expects.
 */
const SERVED_FINGERPRINT_SCRIPT =
  'openssl s_client -connect "$1" -servername "$2" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256';

export function createProxyActivities({ ssh }: { ssh: SshConnector }) {
  async function reloadProxy(host: WwwHost): Promise<ReloadResult> {
    return ssh.session(host.ssh, async ({ client }) => {
      const r = await runCommand(client, asRoot(host.ssh.user, ['sh', '-c', RELOAD_SCRIPT]), { timeoutMs: 60_000 });
      const tail = r.stderr.trim().split('\n').slice(-10).join('\n');
      if (r.exitCode === 3) {
        throw ApplicationFailure.nonRetryable(
          `nginx on ${host.ssh.host} rejects its configuration, so it was not reloaded and still serves the previous certificates:\n${tail}`,
          FailureType.CommandFailed,
        );
      }
      if (r.exitCode !== 0)
        throw ApplicationFailure.create({
          message: `Reloading nginx on ${host.ssh.host} failed (exit ${r.exitCode}):\n${tail}`,
          type: FailureType.CommandFailed,
        });
      const out = r.stdout.trim().split('\n').pop() ?? 'none';
      const [how = 'none', ...masters] = out.split(' ');
      const ignored = r.stderr
        .split('\n')
        .filter((l) => l.startsWith('ignored process '))
        .map((l) => l.replace(/^ignored /, ''));
      if (how !== 'process')
        return { how: how as ReloadResult['how'], detail: out, ...(ignored.length ? { ignored } : {}) };
      for (const m of masters) await awaitNewWorkers(client, host, m);
      return {
        how: 'process',
        detail: `process ${masters.map((m) => m.split(':')[0]).join(' ')}`,
        ...(ignored.length ? { ignored } : {}),
      };
    });
  }

  /**
   * A bare master was sent HUP without a config test (its config is its
   * owner's, see RELOAD_SCRIPT): nginx tests the new config itself, starts new
   * workers when it is good and keeps the old ones when it is not. So a new
   * worker PID is the proof of the reload; none within the limit means the
   * config was refused.
   */
  async function awaitNewWorkers(
    client: Parameters<typeof runCommand>[0],
    host: WwwHost,
    master: string,
  ): Promise<void> {
    const [pid = '', before = ''] = master.split(':');
    const old = new Set(before.split(',').filter(Boolean));
    const deadline = Date.now() + MASTER_RELOAD_LIMIT_MS;
    // The poll ends on the new workers or the limit.
    await pollBeating(
      async () => {
        const r = await runCommand(client, asRoot(host.ssh.user, ['sh', '-c', WORKERS_SCRIPT, 'sh', pid]), {
          timeoutMs: 20_000,
        });
        const now = r.stdout.trim().split(',').filter(Boolean);
        if (now.some((w) => !old.has(w))) return true;
        if (Date.now() > deadline) {
          throw ApplicationFailure.nonRetryable(
            `nginx on ${host.ssh.host} (master process ${pid}) rejects its configuration: it started no new workers after the reload signal, so it still serves the previous certificates. Its error log says why (nginx -t with the config it was started with shows it too).`,
            FailureType.CommandFailed,
          );
        }
        return undefined;
      },
      { details: () => ({ reloading: pid }), firstGapMs: 50, maxGapMs: 1_000 },
    );
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
    return ssh.session(host.ssh, async ({ client }) => {
      const listeners = await listeningAddresses(client, req.httpsPort);
      if (listeners.length === 0) return { checked: [], listener: null };
      const pending = new Map(req.expected.map((e) => [e.domain, e.fingerprint256]));
      let last = '';
      // The poll ends on the condition (every site served), or the activity's timeout.
      await pollBeating(
        async () => {
          for (const [domain, fp] of [...pending]) {
            const { host: addr, port } = connectAddress(listeners[0]!);
            const hostPort = addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
            const r = await runCommand(client, ['sh', '-c', SERVED_FINGERPRINT_SCRIPT, 'sh', hostPort, domain], {
              timeoutMs: 20_000,
            });
            const served = /Fingerprint=([0-9A-F:]+)/i.exec(r.stdout)?.[1]?.toUpperCase();
            if (served === fp.toUpperCase()) pending.delete(domain);
            else
              last = served
                ? `${domain}: still serving ${served}`
                : `${domain}: no certificate read (${r.stderr.trim().split('\n').pop() ?? 'openssl failed'})`;
          }
          return pending.size === 0 ? true : undefined;
        },
        { details: () => ({ waitingFor: [...pending.keys()], last }), firstGapMs: 100, maxGapMs: 2_000 },
      );
      return { checked: req.expected.map((e) => e.domain), listener: listeners[0]! };
    });
  }

  return { reloadProxy, verifyServedCertificates };
}
