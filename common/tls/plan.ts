/**
 * What a site's certificate must cover and where it lives on the www host.
 * Pure data and functions: imported by the CLI, activities and workflows.
 */
import type { WwwHost } from '../hosts';
import { hostPort } from '../host-port';

/** Let's Encrypt's directories, selected by `ACME_SERVER=production|staging`. */
export const LETS_ENCRYPT = {
  production: 'https://acme-v02.api.letsencrypt.org/directory',
  staging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
} as const;

/** Certbot renews this many days before expiry by default; ssw decides the same way. */
export const RENEW_WITHIN_DAYS = 30;

/** What ssw renews for one site. Names and URLs only: no secret ever goes in here. */
export interface SiteCertPlan {
  domain: string;
  /** Every name on the certificate: the domain first, then www, btcpay, the app hosts and BTCPAY_ALT_NAMES. */
  names: string[];
  /** The ACME directory URL. */
  acmeServer: string;
  /**
   * CA bundle, a file on this machine, for an ACME server with a private TLS certificate: copied to the host for
   * certbot (REQUESTS_CA_BUNDLE).
   */
  acmeCaBundle?: string;
  /** The ACME account's contact, `info@<domain>` as in ss. */
  contactEmail: string;
}

export interface CertificatePlan {
  host: WwwHost;
  sites: SiteCertPlan[];
  /** A deployment's proxy ports (PROXY_HTTP_PORT/PROXY_HTTPS_PORT): where http-01 is answered and HTTPS served. */
  ports?: { http: number; https: number };
}

/** The labels of ss's hostnames (project.conf *_HOSTNAME keys). */
export interface CertHostnames {
  www: string;
  btcpay: string;
  nextcloud: string;
  gitea: string;
  nostr: string;
}

export interface SiteNamesInput {
  domain: string;
  deploy: { nextcloud: boolean; gitea: boolean; nostr: boolean };
  btcpayAltNames: string[];
}

/** The names ss's generate_certs.sh requests for a site, in the same order, without duplicates. */
export function certificateNames(site: SiteNamesInput, h: CertHostnames): string[] {
  const labels = [h.www, h.btcpay];
  if (site.deploy.nextcloud) labels.push(h.nextcloud);
  if (site.deploy.gitea) labels.push(h.gitea);
  if (site.deploy.nostr) labels.push(h.nostr);
  labels.push(...site.btcpayAltNames);
  const names = [site.domain, ...labels.map((l) => `${l}.${site.domain}`)];
  return names.filter((n, i) => names.indexOf(n) === i);
}

/** ACME_SERVER as configured (unset, a name or a URL) to a directory URL; `staging` forces Let's Encrypt staging. */
export function acmeDirectoryUrl(configured: string | undefined, staging = false): string {
  if (staging || configured === 'staging') return LETS_ENCRYPT.staging;
  if (configured === undefined || configured === '' || configured === 'production') return LETS_ENCRYPT.production;
  return configured;
}

/** Where certbot keeps one site's state on the host: ss's layout, one config dir per domain. */
export function letsencryptPaths(dataPath: string, domain: string) {
  const root = `${dataPath.replace(/\/+$/, '')}/letsencrypt`;
  const configDir = `${root}/${domain}`;
  return {
    root,
    configDir,
    workDir: `${configDir}/_work`,
    logsDir: `${configDir}/_logs`,
    /** The lineage certbot keeps under --cert-name <domain>. */
    liveDir: `${configDir}/live/${domain}`,
    /** ACME_CA_BUNDLE's copy on the host. */
    acmeCaBundle: `${root}/_acme-ca.pem`,
    /**
     * Shared by all sites: nginx serves /.well-known/acme-challenge/ from here. "_" keeps it apart from domain names.
     */
    webroot: `${root}/_webroot`,
  };
}

/**
 * What `ssw cert ...` acts on: a deployment's www instance, or any host reached over SSH (a single www host, tests).
 */
export type CertTarget =
  | {
      kind: 'deployment';
      remote: string;
      deployment: string;
      /** Only these of the deployment's sites. */ domains?: string[];
    }
  | { kind: 'host'; host: WwwHost; domains: string[] };

/** The lock and search-attribute target: remote+deployment, or `host:port` (+ the site when there is one). */
export function certOperationTarget(t: CertTarget): { remote: string; deployment?: string; site?: string } {
  if (t.kind === 'deployment') return { remote: t.remote, deployment: t.deployment };
  return { remote: hostPort(t.host.ssh), ...(t.domains.length === 1 ? { site: t.domains[0] } : {}) };
}
