import { loadDeploymentConfig, loadSiteConfig, type SiteConfig } from '../config';
import { SS_DEFAULTS } from '../config/schema';
import { UserError } from '../errors';
import type { SsPaths } from '../paths';
import { readWwwHost } from '../hosts/instance-record';
import {
  acmeDirectoryUrl,
  certificateNames,
  type CertHostnames,
  type CertificatePlan,
  type CertTarget,
  type SiteCertPlan,
} from './plan';

/**
 * From a certificate target and the config files under $SS_ROOT to the plan
 * a workflow runs: which host, which sites, which names. Runs in the CLI
 * (so invalid config never starts a workflow) and again in an activity (so
 * a scheduled run picks up config edits made since the schedule was made).
 */

function sitePlan(
  site: SiteConfig,
  hostnames: CertHostnames,
  remoteAcme: { server?: string; caBundle?: string },
  staging: boolean,
): SiteCertPlan {
  const caBundle = site.acmeCaBundle ?? remoteAcme.caBundle;
  return {
    domain: site.domain,
    names: certificateNames(site, hostnames),
    acmeServer: acmeDirectoryUrl(site.acmeServer ?? remoteAcme.server, staging),
    ...(caBundle ? { acmeCaBundle: caBundle } : {}),
    contactEmail: `info@${site.domain}`,
  };
}

export function resolveCertificatePlan(
  paths: SsPaths,
  target: CertTarget,
  opts: { staging?: boolean } = {},
): CertificatePlan {
  const staging = opts.staging ?? false;
  if (target.kind === 'host') {
    // No project.conf on a plain host: ss's default hostnames, each site's own ACME settings.
    const h = SS_DEFAULTS.hostnames;
    const hostnames = {
      www: h.WWW_HOSTNAME,
      btcpay: h.BTCPAY_HOSTNAME_IN_CERT,
      nextcloud: h.NEXTCLOUD_HOSTNAME,
      gitea: h.GITEA_HOSTNAME,
      nostr: h.NOSTR_HOSTNAME,
    };
    const sites = target.domains.map((d) => sitePlan(loadSiteConfig(paths, d), hostnames, {}, staging));
    return { host: target.host, sites };
  }
  const config = loadDeploymentConfig(paths, { remote: target.remote, deployment: target.deployment });
  const known = config.sites.map((s) => s.domain);
  const unknown = (target.domains ?? []).filter((d) => !known.includes(d));
  if (unknown.length > 0) {
    throw new UserError(
      `Deployment ${target.deployment} does not serve ${unknown.join(', ')}; its sites are ${known.join(', ')} (PRIMARY_DOMAIN and OTHER_SITES_LIST in ${paths.projectConf(target.deployment)}).`,
    );
  }
  const h = config.project.hostnames;
  const hostnames = { www: h.www, btcpay: h.btcpayInCert, nextcloud: h.nextcloud, gitea: h.gitea, nostr: h.nostr };
  const chosen = config.sites.filter((s) => !target.domains?.length || target.domains.includes(s.domain));
  const remoteAcme = { server: config.remote.acmeServer, caBundle: config.remote.acmeCaBundle };
  return {
    host: readWwwHost(paths, target.remote, target.deployment),
    sites: chosen.map((s) => sitePlan(s, hostnames, remoteAcme, staging)),
    ports: config.project.proxyPorts,
  };
}
