import { certOperationTarget, type CertTarget } from '../common/tls/plan';
import { hostPort } from '../common/host-port';
import { hostRead as act } from './activity-options';
import { Progress } from './progress';

/**
 * certificateStatus: what the www host really holds, read-only. Each
 * configured site's certificate (names, issuer, expiry) and whether it
 * covers the names the config wants; lineages the config no longer names
 * are listed too.
 */
export interface CertificateStatusInput {
  target: CertTarget;
}

export interface SiteCertificateStatus {
  domain: string;
  /** False for a lineage on the host that no configured site asks for. */
  configured: boolean;
  present: boolean;
  names: string[];
  /** Names the config wants that the certificate lacks. */
  missingNames: string[];
  issuer?: string;
  serial?: string;
  notBefore?: string;
  notAfter?: string;
}

export interface CertificateStatusResult {
  host: string;
  sites: SiteCertificateStatus[];
}

export async function certificateStatus({ target }: CertificateStatusInput): Promise<CertificateStatusResult> {
  const STEPS = { plan: 'Read the sites and names from the config', read: 'Read the certificates on the www host' };
  const progress = Progress.start('cert-status', certOperationTarget(target), Object.values(STEPS));
  const plan = await progress.step(STEPS.plan, () => act.planCertificates(target));
  const found = await progress.step(STEPS.read, () => act.listCertificates(plan.host));

  const sites: SiteCertificateStatus[] = plan.sites.map((site) => {
    const cert = found.find((f) => f.domain === site.domain)?.certificate;
    if (!cert) return { domain: site.domain, configured: true, present: false, names: [], missingNames: site.names };
    return {
      domain: site.domain,
      configured: true,
      present: true,
      names: cert.names,
      missingNames: site.names.filter((n) => !cert.names.includes(n)),
      issuer: cert.issuer,
      serial: cert.serial,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
    };
  });
  // On a plain host every lineage is of interest; for a deployment, only its own sites are.
  if (target.kind === 'host' && target.domains.length === 0) {
    for (const f of found) {
      if (sites.some((s) => s.domain === f.domain)) continue;
      const c = f.certificate;
      sites.push({
        domain: f.domain,
        configured: false,
        present: true,
        names: c.names,
        missingNames: [],
        issuer: c.issuer,
        serial: c.serial,
        notBefore: c.notBefore,
        notAfter: c.notAfter,
      });
    }
  }
  progress.finish();
  return { host: hostPort(plan.host.ssh), sites };
}
