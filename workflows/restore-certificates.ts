import type { ReloadResult } from '../activities/proxy';
import type { CertTarget } from '../common/tls/plan';
import { hostPort } from '../common/host-port';
import { hostSteps as act } from './activity-options';
import { startOnWwwHost } from './www-host';

/**
 * restoreCertificates (`ssw cert restore`, and `--restore-certs` of ss-up):
 * put the certificates saved on this machine back on a www host, typically a
 * rebuilt one, instead of asking the CA again. Runbook, per site:
 *   1. Find the newest sealed backup here.
 *   2. Read what the host holds; keep it when it is the same certificate or
 *      a newer one (unless --force): a restore never downgrades by accident.
 *   3. Unpack beside the live directory, then swap it in (the old one is kept).
 * Then reload nginx so it serves them.
 */
export interface RestoreCertificatesInput {
  target: CertTarget;
  /** Restore even over a newer certificate on the host. */
  force?: boolean;
}

export interface SiteRestore {
  domain: string;
  action: 'restored' | 'kept' | 'no-backup';
  detail: string;
  serial?: string;
  notAfter?: string;
}

export interface RestoreCertificatesResult {
  host: string;
  sites: SiteRestore[];
  reload?: ReloadResult;
}

export async function restoreCertificates(input: RestoreCertificatesInput): Promise<RestoreCertificatesResult> {
  const STEPS = { reload: 'Reload the reverse proxy' };
  const { progress, plan } = await startOnWwwHost({
    operation: 'cert-restore',
    target: input.target,
    plan: { step: 'Read the sites from the config', read: () => act.planCertificates(input.target) },
    steps: (p) => [...p.sites.map((s) => `${s.domain}: restore the certificate`), STEPS.reload],
    sshCheck: act.sshCheck,
  });

  const sites: SiteRestore[] = [];
  for (const site of plan.sites) {
    const step = `${site.domain}: restore the certificate`;
    const result = await progress.step(step, async (): Promise<SiteRestore> => {
      const backup = await act.latestCertificateBackup(site.domain);
      if (!backup) return { domain: site.domain, action: 'no-backup', detail: 'no backup on this machine' };
      const { current } = await act.checkCertificate(plan.host, site);
      if (current?.serial === backup.serial) {
        return {
          domain: site.domain,
          action: 'kept',
          detail: 'the host already has this certificate',
          serial: current.serial,
          notAfter: current.notAfter,
        };
      }
      if (current && current.notAfter > backup.notAfter && !input.force) {
        return {
          domain: site.domain,
          action: 'kept',
          detail: `the host's certificate is newer (expires ${current.notAfter}); --force restores anyway`,
          serial: current.serial,
          notAfter: current.notAfter,
        };
      }
      await act.restoreCertificateBackup(plan.host, backup);
      return {
        domain: site.domain,
        action: 'restored',
        detail: `restored ${backup.file}`,
        serial: backup.serial,
        notAfter: backup.notAfter,
      };
    });
    if (result.action !== 'restored') progress.skip(step, result.detail);
    sites.push(result);
  }

  let reload: ReloadResult | undefined;
  if (sites.some((s) => s.action === 'restored'))
    reload = await progress.step(STEPS.reload, () => act.reloadProxy(plan.host));
  else progress.skip(STEPS.reload, 'nothing restored');
  progress.finish();
  return { host: hostPort(plan.host.ssh), sites, reload };
}
