import * as crypto from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from 'ssh2';
import { FailureType } from '../../common/failure-types';
import { CaBundleInvalid, readCaBundle } from '../../common/tls/ca-bundle';
import type { WwwHost } from '../../common/hosts';
import { letsencryptPaths, type SiteCertPlan } from '../../common/tls/plan';
import type { SshTarget } from '../ssh/connect';
import type { SshConnector } from '../ssh/connector';
import { runChecked, runCommand } from '../ssh/run';
import { parseCertificate, renewalDecision, type CertificateInfo, type RenewDecision } from './certificate';
import { asRoot } from '../../common/hosts';
import { certbotArgv, classifyCertbotFailure, writePublicFileArgv, type ChallengeMode } from './commands';
import { httpGetOverSsh, listeningAddresses } from '../ssh/tunnel';

export type { CertificateInfo, RenewDecision } from './certificate';
export type { ChallengeMode } from './commands';

/**
 * Certbot on the www host, over SSH with the pinned host key. ssw runs the
 * host's certbot package, not the certbot/certbot image ss pulls: it needs
 * no registry (air-gapped hosts get it from their Debian/Ubuntu mirror), is
 * patched with the OS, and shares the filesystem with the proxy, so the
 * http-01 tokens it writes are served by the running nginx (no downtime).
 */

export interface CertificateCheck {
  current: CertificateInfo | null;
  decision: RenewDecision;
}

export interface ObtainResult {
  certificate: CertificateInfo;
  /** A previous attempt of this step already replaced the certificate (found on retry); certbot was not run again. */
  alreadyDone: boolean;
  challenge: ChallengeMode['kind'];
}

export interface ChallengePreparation {
  challenge: ChallengeMode;
  /** What answers the HTTP port, e.g. "127.0.0.1:80"; empty in standalone mode. */
  listeners: string[];
}

const CERTBOT_INSTALL_SCRIPT = [
  'set -e',
  'if command -v certbot >/dev/null 2>&1; then certbot --version 2>&1; exit 0; fi',
  'export DEBIAN_FRONTEND=noninteractive',
  'apt-get update -q >&2',
  'apt-get install -y -q --no-install-recommends certbot >&2',
  'certbot --version 2>&1',
].join('\n');

export function createCertbotActivities({ ssh: connector }: { ssh: SshConnector }) {
  const ssh = <T>(t: SshTarget, fn: (client: Client) => Promise<T>) => connector.session(t, ({ client }) => fn(client));

  async function readCertificate(client: Client, host: WwwHost, domain: string): Promise<CertificateInfo | null> {
    const { liveDir } = letsencryptPaths(host.dataPath, domain);
    // live/ is root-only (certbot makes it 0700); cert.pem itself is public.
    const script = 'if [ -e "$1" ]; then cat "$1"; else echo absent; fi';
    const r = await runChecked(client, asRoot(host.ssh.user, ['sh', '-c', script, 'sh', `${liveDir}/cert.pem`]), {
      timeoutMs: 30_000,
    });
    if (r.stdout.trim() === 'absent') return null;
    try {
      return parseCertificate(r.stdout);
    } catch (err) {
      throw ApplicationFailure.nonRetryable(
        `${liveDir}/cert.pem on ${host.ssh.host} is not a readable certificate: ${(err as Error).message}`,
        FailureType.CommandFailed,
      );
    }
  }

  /** Certbot is on the host, installed from the OS's packages when missing (root or passwordless sudo). */
  async function ensureCertbot(target: SshTarget): Promise<{ version: string }> {
    return connector.step(`installing certbot on ${target.host}`, target, { step: 'certbot' }, async (s) => {
      // apt exits 100 while another apt holds its lock: worth retrying.
      const r = await s.runChecked(asRoot(target.user, ['sh', '-c', CERTBOT_INSTALL_SCRIPT]), {
        timeoutMs: 15 * 60_000,
        retryableExitCodes: [100],
      });
      return { version: r.stdout.trim().split('\n').pop() ?? '' };
    });
  }

  /** The site's current certificate on the host and whether it must be renewed now. */
  async function checkCertificate(
    host: WwwHost,
    site: SiteCertPlan,
    opts: { force?: boolean } = {},
  ): Promise<CertificateCheck> {
    const current = await ssh(host.ssh, (client) => readCertificate(client, host, site.domain));
    return { current, decision: renewalDecision(current, site.names, new Date(), { force: opts.force }) };
  }

  /**
   * Chooses how certbot proves control of the names. When a web server answers
   * the HTTP port, it must serve the shared webroot: ssw writes a probe token
   * there and fetches it back through that server for every name (with the
   * name as Host), so a missing `location /.well-known/acme-challenge/` is a
   * clear error here, not a failed validation counted against the CA's limits.
   */
  async function prepareChallenge(host: WwwHost, site: SiteCertPlan, httpPort: number): Promise<ChallengePreparation> {
    const { webroot } = letsencryptPaths(host.dataPath, site.domain);
    return ssh(host.ssh, async (client) => {
      const listeners = await listeningAddresses(client, httpPort);
      if (listeners.length === 0) return { challenge: { kind: 'standalone', port: httpPort }, listeners };

      const name = `ssw-probe-${crypto.randomBytes(12).toString('hex')}`;
      const token = crypto.randomBytes(24).toString('base64url');
      const dir = `${webroot}/.well-known/acme-challenge`;
      const write = 'umask 022; mkdir -p "$1" && chmod 755 "$1" && cat > "$1/$2"';
      await runChecked(client, asRoot(host.ssh.user, ['sh', '-c', write, 'sh', dir, name]), {
        stdin: token,
        timeoutMs: 30_000,
      });
      try {
        const failures: string[] = [];
        for (const hostName of site.names) {
          const res = await httpGetOverSsh(client, listeners[0]!, `/.well-known/acme-challenge/${name}`, hostName);
          if (res.status !== 200) failures.push(`${hostName} (HTTP ${res.status || 'no answer'})`);
          else if (res.body.trim() !== token)
            failures.push(`${hostName} (HTTP 200 but other content: not from the webroot)`);
        }
        if (failures.length > 0) {
          throw ApplicationFailure.nonRetryable(
            `The web server on ${host.ssh.host} port ${httpPort} (${listeners.join(', ')}) does not serve ${webroot} at /.well-known/acme-challenge/ for: ${failures.join(', ')}. ` +
              `Add "location /.well-known/acme-challenge/ { root ${webroot}; }" to its port-${httpPort} server block for these names (before any redirect to HTTPS), reload it, and run again.`,
            FailureType.ChallengeNotServed,
          );
        }
      } finally {
        await runCommand(client, asRoot(host.ssh.user, ['rm', '-f', `${dir}/${name}`]), { timeoutMs: 30_000 });
      }
      return { challenge: { kind: 'webroot' }, listeners };
    });
  }

  /**
   * ACME_CA_BUNDLE lives on this machine (the operator keeps one config);
   * certbot on the host reads the copy written here, whole or not at all.
   */
  async function copyCaBundle(client: Client, host: WwwHost, site: SiteCertPlan): Promise<string> {
    const file = site.acmeCaBundle!;
    let pem: string;
    try {
      pem = readCaBundle(file);
    } catch (err) {
      if (!(err instanceof CaBundleInvalid)) throw err;
      throw ApplicationFailure.nonRetryable(
        `ACME_CA_BUNDLE=${file} (for ${site.domain}): ${err.message}. Point it at the ACME server's CA certificate file on this machine.`,
        FailureType.Config,
      );
    }
    const { root, acmeCaBundle } = letsencryptPaths(host.dataPath, site.domain);
    await runChecked(client, asRoot(host.ssh.user, writePublicFileArgv(root, acmeCaBundle)), {
      stdin: pem,
      timeoutMs: 30_000,
    });
    return acmeCaBundle;
  }

  /**
   * Runs certbot for one site. Idempotent across retries: when the host's
   * certificate is no longer the one the check saw (`replaces`), an earlier
   * attempt already got the new one and certbot is not asked again, so a
   * crash after issuance costs no second certificate from the CA's quota.
   */
  async function obtainCertificate(
    host: WwwHost,
    site: SiteCertPlan,
    req: { replaces: string | null; challenge: ChallengeMode },
  ): Promise<ObtainResult> {
    const { logsDir } = letsencryptPaths(host.dataPath, site.domain);
    // Heartbeats from certbot's output and, while it waits on the CA in silence, from
    // probes of the connection: a dead worker or connection costs the stall limit
    // (declared with the activity's heartbeat timeout), not minutes.
    return connector.step(`certbot for ${site.domain}`, host.ssh, { domain: site.domain }, async (s) => {
      const client = s.client;
      const before = await readCertificate(client, host, site.domain);
      if (before && before.serial !== req.replaces && sameNames(before.names, site.names)) {
        return { certificate: before, alreadyDone: true, challenge: req.challenge.kind };
      }
      const caBundleOnHost = site.acmeCaBundle ? await copyCaBundle(client, host, site) : undefined;
      const argv = asRoot(
        host.ssh.user,
        certbotArgv({
          site,
          dataPath: host.dataPath,
          challenge: req.challenge,
          forceRenewal: before !== null,
          caBundleOnHost,
        }),
      );
      const r = await s.run(argv, { timeoutMs: 10 * 60_000 });
      if (r.exitCode !== 0) {
        const log = await runCommand(
          client,
          asRoot(host.ssh.user, ['tail', '-n', '80', `${logsDir}/letsencrypt.log`]),
          { timeoutMs: 30_000 },
        );
        const failure = classifyCertbotFailure(site.domain, site.acmeServer, `${r.stdout}\n${r.stderr}`, log.stdout);
        throw ApplicationFailure.create({
          message: failure.message,
          type: failure.type,
          nonRetryable: !failure.retryable,
        });
      }
      const after = await readCertificate(client, host, site.domain);
      if (!after || (before && after.serial === before.serial)) {
        throw ApplicationFailure.nonRetryable(
          `certbot reported success for ${site.domain} but the certificate on the host did not change.`,
          FailureType.CommandFailed,
        );
      }
      return { certificate: after, alreadyDone: false, challenge: req.challenge.kind };
    });
  }

  /** Every certificate lineage under <dataPath>/letsencrypt on the host, for `ssw cert status`. */
  async function listCertificates(host: WwwHost): Promise<Array<{ domain: string; certificate: CertificateInfo }>> {
    const { root } = letsencryptPaths(host.dataPath, 'x');
    // One "=== <domain>" header, then the PEM, per lineage. Names come from the directory layout ss uses.
    const script =
      'for f in "$1"/*/live/*/cert.pem; do [ -e "$f" ] || continue; d=${f%/cert.pem}; echo "=== ${d##*/}"; cat "$f"; done';
    const out = await ssh(host.ssh, (client) =>
      runChecked(client, asRoot(host.ssh.user, ['sh', '-c', script, 'sh', root]), { timeoutMs: 30_000 }),
    );
    const result: Array<{ domain: string; certificate: CertificateInfo }> = [];
    for (const chunk of out.stdout.split(/^=== /m).slice(1)) {
      const nl = chunk.indexOf('\n');
      const domain = chunk.slice(0, nl).trim();
      try {
        result.push({ domain, certificate: parseCertificate(chunk.slice(nl + 1)) });
      } catch {
        // A half-written lineage is reported as missing by the caller rather than failing the whole listing.
      }
    }
    return result;
  }

  return { ensureCertbot, checkCertificate, prepareChallenge, obtainCertificate, listCertificates };
}

function sameNames(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((n) => b.includes(n));
}
