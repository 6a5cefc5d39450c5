import type { ReloadResult } from '../activities/proxy';
import type { CertTarget, SiteCertPlan } from '../common/tls/plan';
import { hostPort } from '../common/host-port';
import { acme, certbotInstall, hostSteps as quick } from './activity-options';
import { startOnWwwHost } from './www-host';

/**
 * renewCertificates: keep every site's certificate valid without taking the
 * site down (ss's generate_certs.sh stopped the proxy for certbot
 * --standalone on every run). Runbook:
 *   1. Read the config: which sites, which names, which ACME server.
 *   2. Reach the www host (pinned key) and make sure certbot is installed.
 *   3. Per site: read the current certificate; renew only when it is missing,
 *      its names changed, it expires within 30 days, or --force.
 *   4. Check the running web server serves the challenge directory, then run
 *      certbot through it (webroot), or standalone when nothing serves port 80.
 *   5. Copy the new certificate, sealed, to this machine.
 *   6. Reload nginx gracefully and wait until it serves the new certificates.
 */
export interface RenewCertificatesInput {
  target: CertTarget;
  /** Renew even when the certificate is valid for more than 30 days. */
  force?: boolean;
  /** Use Let's Encrypt's staging directory whatever ACME_SERVER says. */
  staging?: boolean;
  /** The port the ACME server validates http-01 on. @default the deployment's PROXY_HTTP_PORT, else 80 */
  httpPort?: number;
  /**
   * The port the proxy serves HTTPS on, to check the new certificate is served. @default the deployment's
   * PROXY_HTTPS_PORT, else 443
   */
  httpsPort?: number;
}

export interface SiteRenewal {
  domain: string;
  action: 'renewed' | 'kept';
  /** Why: missing, names-changed, expiring, forced, or valid. */
  reason: string;
  detail: string;
  names: string[];
  serial: string;
  notAfter: string;
  challenge?: 'webroot' | 'standalone';
  backupFile?: string;
}

export interface RenewCertificatesResult {
  host: string;
  sites: SiteRenewal[];
  reload?: ReloadResult;
  /** Sites whose new certificate the proxy was seen serving. */
  verified: string[];
}

export async function renewCertificates(input: RenewCertificatesInput): Promise<RenewCertificatesResult> {
  const STEPS = { reload: 'Reload the reverse proxy', verify: 'Check the proxy serves the new certificates' };
  const siteSteps = (d: string) => ({
    check: `${d}: read the current certificate`,
    challenge: `${d}: check the web server serves the ACME challenge`,
    obtain: `${d}: obtain the certificate`,
    backup: `${d}: back up the certificate to this machine`,
  });
  const { progress, plan } = await startOnWwwHost({
    operation: 'cert-renew',
    target: input.target,
    plan: {
      step: 'Read the sites and names from the config',
      read: () => quick.planCertificates(input.target, { staging: input.staging }),
    },
    steps: (p) => [...p.sites.flatMap((s) => Object.values(siteSteps(s.domain))), STEPS.reload, STEPS.verify],
    sshCheck: quick.sshCheck,
    tool: { step: 'Make sure certbot is installed', ensure: certbotInstall.ensureCertbot },
  });
  const httpPort = input.httpPort ?? plan.ports?.http ?? 80;
  const httpsPort = input.httpsPort ?? plan.ports?.https ?? 443;

  // One site after another: they share the CA account's rate limits and the HTTP port.
  const sites: SiteRenewal[] = [];
  const renewed: Array<{ domain: string; fingerprint256: string }> = [];
  for (const site of plan.sites) {
    const s = siteSteps(site.domain);
    const { current, decision } = await progress.step(s.check, () =>
      quick.checkCertificate(plan.host, site, { force: input.force }),
    );
    if (!decision.renew && current) {
      for (const step of [s.challenge, s.obtain, s.backup]) progress.skip(step, decision.detail);
      sites.push(kept(site, current, decision));
      continue;
    }
    progress.detail(s.check, decision.detail);
    const { challenge } = await progress.step(s.challenge, () => quick.prepareChallenge(plan.host, site, httpPort));
    const obtained = await progress.step(s.obtain, () =>
      acme.obtainCertificate(plan.host, site, { replaces: current?.serial ?? null, challenge }),
    );
    const backup = await progress.step(s.backup, () =>
      quick.backupCertificate(plan.host, site.domain, obtained.certificate),
    );
    renewed.push({ domain: site.domain, fingerprint256: obtained.certificate.fingerprint256 });
    sites.push({
      domain: site.domain,
      action: 'renewed',
      reason: decision.reason,
      detail: decision.detail,
      names: obtained.certificate.names,
      serial: obtained.certificate.serial,
      notAfter: obtained.certificate.notAfter,
      challenge: obtained.challenge,
      backupFile: backup.file,
    });
  }

  let reload: ReloadResult | undefined;
  let verified: string[] = [];
  if (renewed.length === 0) {
    progress.skip(STEPS.reload, 'no certificate changed');
    progress.skip(STEPS.verify, 'no certificate changed');
  } else {
    reload = await progress.step(STEPS.reload, () => quick.reloadProxy(plan.host));
    if (reload.how === 'none') {
      progress.skip(STEPS.verify, 'no nginx is running; it will load the new certificates when it starts');
    } else {
      const served = await progress.step(STEPS.verify, () =>
        quick.verifyServedCertificates(plan.host, { httpsPort, expected: renewed }),
      );
      verified = served.checked;
      if (!served.listener) progress.skip(STEPS.verify, `nothing listens on port ${httpsPort}`);
    }
  }

  progress.finish();
  return { host: hostPort(plan.host.ssh), sites, reload, verified };
}

function kept(
  site: SiteCertPlan,
  current: { names: string[]; serial: string; notAfter: string },
  decision: { reason: string; detail: string },
): SiteRenewal {
  return {
    domain: site.domain,
    action: 'kept',
    reason: decision.reason,
    detail: decision.detail,
    names: current.names,
    serial: current.serial,
    notAfter: current.notAfter,
  };
}
