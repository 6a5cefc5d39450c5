import * as path from 'node:path';
import type { z } from 'zod';
import { ConfigError, ConfigStubWritten, type ConfigProblem } from '../errors';
import { isDirectory, subdirectories } from '../local-dirs';
import type { SsPaths } from '../paths';
import { shellQuote } from '../shell-quote';
import { NotARegularFile, readRegularFile } from '../regular-file';
import { CaBundleInvalid, readCaBundle } from '../tls/ca-bundle';
import { warnOnce } from '../warnings';
import { scanConfText } from './parse';
import {
  crossCheckProject,
  crossCheckSite,
  DISK_DEFAULTS_GB,
  projectSchema,
  remoteSchema,
  SS_DEFAULTS,
  siteSchema,
  type CrossIssue,
  type DeploymentEntry,
  type ImageSource,
  type InstanceType,
  type LightningImpl,
  type ProjectValues,
  type RemoteValues,
  type SiteValues,
} from './schema';
import { linkStub, projectStub, remoteStub, siteStub, writeStub } from './stubs';
import {
  hasShellSyntax,
  isDomainName,
  isName,
  isSecretKey,
  showValue,
  splitList,
  validateDomainName,
  validateName,
  type BitcoinChain,
} from './validators';

/**
 * Loading $SS_ROOT's config files into typed objects.
 *
 * The typed results use camelCase names (`primaryDomain` for PRIMARY_DOMAIN);
 * each field's doc names its key. Secrets live only in `SiteConfig.secrets`:
 * activities read them on the management machine; workflows get names only.
 *
 * Every loader collects every problem in every file it reads, then throws once:
 * ConfigStubWritten (exit 1) if it had to write stubs, else ConfigError (exit 2).
 */

export interface RemoteConfig {
  /** The remote's name (its directory under remotes/). */
  name: string;
  /**
   * DEPLOYMENT_STRING: the deployments this remote hosts and the chain of each. Unset (the newest ss no longer writes
   * it): any deployment may run on this remote, with the chain its project.conf's BITCOIN_CHAIN names (regtest by
   * default); remoteDeployments() then lists the ones linked under remotes/<remote>/projects/.
   */
  deployments?: DeploymentEntry[];
  /**
   * REGISTRY_URL: validated but ignored (ss's engine registry mirror; ssw warns once when it is set). @default
   * https://index.docker.io/v1
   */
  registryUrl: string;
  /** ACME_SERVER: an https directory URL, or "production"/"staging" for Let's Encrypt; unset means production. */
  acmeServer?: string;
  /**
   * ACME_CA_BUNDLE: CA certificates (a file on this machine, copied to the www host for certbot) that the ACME server's
   * own TLS certificate chains to; for private CAs.
   */
  acmeCaBundle?: string;
  /**
   * DATA_PLANE_NETWORK: an LXD managed network on the remote that instances'
   * data-plane NIC joins (bridged), instead of macvlan on the data-plane
   * interface. For labs and test hosts that have no LAN with DHCP reservations.
   */
  dataPlaneNetwork?: string;
  /**
   * IMAGE_SOURCE: how the www instance gets its Docker images. `registry`
   * (default): its engine pulls them. `airgapped`: ssw copies them from this
   * machine's Docker ($DOCKER_HOST), for remotes without a route out.
   */
  imageSource: ImageSource;
}

export interface InstanceConfig {
  /** *_MAC_ADDRESS, lowercase. Unset means the instance is not deployed (as in ss). */
  macAddress?: string;
  /** *_IPV4_ADDRESS: reserved for the MAC on DATA_PLANE_NETWORK's DHCP (LXD's). Only with DATA_PLANE_NETWORK. */
  ipv4Address?: string;
  /** *_CPU_COUNT. @default 4 */
  cpuCount: number;
  /** *_MEMORY_MB. @default 4096 */
  memoryMb: number;
}

/** *_SSDATA_DISK_SIZE_GB, *_BACKUP_DISK_SIZE_GB, *_DOCKER_DISK_SIZE_GB; defaults depend on the chain. */
export interface DiskSizesGb {
  ssdata: number;
  backup: number;
  docker: number;
}

export interface ProjectConfig {
  /** The deployment's name (its directory under projects/, the LXD project). */
  name: string;
  /** PRIMARY_DOMAIN. */
  primaryDomain: string;
  /** OTHER_SITES_LIST. @default [] */
  otherSites: string[];
  /** primaryDomain followed by otherSites: every site this deployment serves. */
  domains: string[];
  /**
   * The chain this deployment runs: the remote's DEPLOYMENT_STRING entry when
   * loaded through loadDeploymentConfig and the remote sets one, else BITCOIN_CHAIN. @default regtest
   */
  bitcoinChain: BitcoinChain;
  /** INSTANCE_TYPE. @default virtual-machine */
  instanceType: InstanceType;
  /**
   * BASE_IMAGE: what ssw's weekly base image is built from: an image-server
   * alias (images:..., ubuntu:...) or a local image alias. Unset means
   * images:ubuntu/jammy/cloud, as ss.
   */
  baseImage?: string;
  www: InstanceConfig & { disksGb: DiskSizesGb };
  /**
   * BTCPAY_SERVER_* (MAC also read from the older BTCPAYSERVER_MAC_ADDRESS); disks from BTCPAYSERVER_*_DISK_SIZE_GB.
   */
  btcpayserver: InstanceConfig & { disksGb: DiskSizesGb };
  lnplayserver: InstanceConfig;
  /** *_HOSTNAME and BTCPAY_HOSTNAME_IN_CERT: the DNS labels under each domain. */
  hostnames: {
    www: string;
    btcpayServer: string;
    lnplayServer: string;
    btcpayInCert: string;
    nextcloud: string;
    gitea: string;
    nostr: string;
  };
  /** *_IMAGE: Docker images of the app containers. */
  images: {
    ghost: string;
    ghostDb: string;
    nginx: string;
    nextcloud: string;
    nextcloudDb: string;
    gitea: string;
    giteaDb: string;
    nostrRelay: string;
  };
  /** PROXY_HTTP_PORT / PROXY_HTTPS_PORT: where the reverse proxy listens on the www instance. @default 80 and 443 */
  proxyPorts: { http: number; https: number };
  /** What runs on the btcpayserver instance: the node, NBXplorer, PostgreSQL, BTCPay Server, Lightning. */
  btcpay: {
    /** LIGHTNING_IMPL. @default clightning (as ss) */
    lightning: LightningImpl;
    /** DEPLOY_CLBOSS_PLUGIN: CLN's automatic channel manager. @default false */
    clboss: boolean;
    /** BITCOIN_PEERS: host:port peers the node connects to only (bitcoind's connect=). @default [] (the P2P network) */
    peers: string[];
    /** BITCOIN_SYNC_STALL_SECONDS: the chain-sync wait fails after this long without a new block. @default 1800 */
    syncStallSeconds: number;
    /** *_IMAGE keys of the BTCPay stack. */
    images: { bitcoin: string; nbxplorer: string; btcpay: string; postgres: string; clightning: string; lnd: string };
  };
}

export interface SiteConfig {
  /** DOMAIN_NAME (equal to the directory's name). */
  domain: string;
  /** SITE_LANGUAGE_CODES. @default ["en"] */
  languageCodes: string[];
  /** DEPLOY_GHOST (@default true), DEPLOY_NEXTCLOUD, DEPLOY_GITEA, DEPLOY_NOSTR (@default false). */
  deploy: { ghost: boolean; nextcloud: boolean; gitea: boolean; nostr: boolean };
  /** BTCPAY_ALT_NAMES: extra labels served by BTCPay. @default [] */
  btcpayAltNames: string[];
  /** NOSTR_ACCOUNT_PUBKEY (hex); required when deploy.nostr. */
  nostrAccountPubkey?: string;
  /** ACME_SERVER for this site; overrides the remote's. */
  acmeServer?: string;
  /** ACME_CA_BUNDLE for this site; overrides the remote's. */
  acmeCaBundle?: string;
  /** BACKUP_FULL_EVERY_DAYS: a full backup when the last one is older; incrementals in between. @default 30 */
  backupFullEveryDays: number;
  /** BACKUP_KEEP_DAYS: backups older than this are removed (0 keeps everything). @default 90 */
  backupKeepDays: number;
  /** BACKUP_OFFSITE_REMOTE: an ssw remote that keeps a second copy of every archive (off-site, another DC). */
  backupOffsiteRemote?: string;
  /** BACKUP_OFFSITE_PATH: where on that remote. @default /home/ubuntu/ss-offsite */
  backupOffsitePath?: string;
  /** Never pass these to a workflow or a log line. App passwords are required when the app is deployed. */
  secrets: {
    duplicityBackupPassphrase: string;
    ghostMysqlPassword?: string;
    ghostMysqlRootPassword?: string;
    nextcloudMysqlPassword?: string;
    nextcloudMysqlRootPassword?: string;
    giteaMysqlPassword?: string;
    giteaMysqlRootPassword?: string;
    /** BTCPAY_POSTGRES_PASSWORD (the primary site's): generated into site.conf on the first up that needs it. */
    btcpayPostgresPassword?: string;
  };
}

export interface DeploymentConfig {
  remote: RemoteConfig;
  project: ProjectConfig;
  /** The primary domain's site first, then OTHER_SITES_LIST in order. */
  sites: SiteConfig[];
}

export function loadRemoteConfig(paths: SsPaths, remote: string): RemoteConfig {
  validateName('remote', remote);
  const c = new Collector();
  const r = c.check(
    paths.remoteConf(remote),
    remoteSchema,
    () => [],
    () => remoteStub(remote),
  );
  c.finish();
  return toRemote(remote, r.data!);
}

export function loadProjectConfig(paths: SsPaths, deployment: string): ProjectConfig {
  validateName('deployment', deployment);
  const c = new Collector();
  const p = c.check(paths.projectConf(deployment), projectSchema, crossCheckProject, () => projectStub(deployment));
  c.finish();
  return toProject(deployment, p.data!, p.data!.BITCOIN_CHAIN ?? SS_DEFAULTS.bitcoinChain);
}

export function loadSiteConfig(paths: SsPaths, domain: string): SiteConfig {
  validateDomainName(domain);
  const c = new Collector();
  const s = c.site(paths, domain);
  c.finish();
  return toSite(s!);
}

/**
 * remote.conf, project.conf and the site.conf of every domain the project
 * serves, checked together: when the remote sets DEPLOYMENT_STRING, the
 * deployment must be listed there and a BITCOIN_CHAIN in project.conf must
 * agree with it; without one, any deployment may run there.
 *
 * Like ss-up, it links the deployment to the remote
 * (remotes/R/projects/D -> ../../../projects/D) and each site to the deployment
 * (projects/D/sites/S -> ../../../sites/S) where those links are missing, when
 * it writes stubs or the whole config is valid.
 */
export function loadDeploymentConfig(paths: SsPaths, target: { remote: string; deployment: string }): DeploymentConfig {
  const { remote, deployment } = target;
  validateName('remote', remote);
  validateName('deployment', deployment);
  const c = new Collector();
  const remoteFile = paths.remoteConf(remote);
  const projectFile = paths.projectConf(deployment);
  const r = c.check(
    remoteFile,
    remoteSchema,
    () => [],
    () => remoteStub(remote),
  );
  const p = c.check(projectFile, projectSchema, crossCheckProject, () => projectStub(deployment));

  // Checked field by field, so a bad REGISTRY_URL does not hide a missing deployment.
  let chain: BitcoinChain | undefined;
  let listedHere = true;
  const listed = r.values && remoteSchema.shape.DEPLOYMENT_STRING.safeParse(r.values.DEPLOYMENT_STRING);
  if (listed && !listed.success) listedHere = false; // a DEPLOYMENT_STRING that cannot be read allows nothing
  if (listed?.success && listed.data !== undefined) {
    const entry = listed.data.find((e) => e.deployment === deployment);
    if (entry) chain = entry.chain;
    else {
      listedHere = false;
      const names = listed.data.map((e) => JSON.stringify(e.deployment)).join(', ');
      c.add({
        file: remoteFile,
        key: 'DEPLOYMENT_STRING',
        line: r.lines.DEPLOYMENT_STRING,
        message: `expected an entry for the deployment "${deployment}" like (${deployment}|mainnet), but it lists only ${names}`,
      });
    }
  }
  const own = p.values && projectSchema.shape.BITCOIN_CHAIN.safeParse(p.values.BITCOIN_CHAIN);
  if (chain && own?.success && own.data !== undefined && own.data !== chain) {
    c.add({
      file: projectFile,
      key: 'BITCOIN_CHAIN',
      line: p.lines.BITCOIN_CHAIN,
      message: `expected ${chain}, the chain of "${deployment}" in the DEPLOYMENT_STRING of remote "${remote}", got "${own.data}"`,
    });
  }

  // On macvlan the LAN's DHCP server hands out addresses: a reservation there, by MAC, is the operator's to make.
  if (r.values && !r.values.DATA_PLANE_NETWORK && p.values) {
    for (const key of ['WWW_SERVER_IPV4_ADDRESS', 'BTCPAY_SERVER_IPV4_ADDRESS', 'LNPLAY_SERVER_IPV4_ADDRESS']) {
      if (!p.values[key]) continue;
      c.add({
        file: projectFile,
        key,
        line: p.lines[key],
        message: `expected no value unless remote.conf sets DATA_PLANE_NETWORK (an LXD bridge whose DHCP ssw configures); on the LAN, reserve this address for the instance's MAC address on your DHCP server instead`,
      });
    }
  }

  // Even when project.conf has other problems, check the sites it names, so one run shows everything.
  const domains = p.data ? [p.data.PRIMARY_DOMAIN, ...p.data.OTHER_SITES_LIST] : domainsFromRaw(p);
  const sites = domains.map((d) => c.site(paths, d));
  if (c.wroteStubs || c.clean) linkDeployment(paths, listedHere ? remote : undefined, deployment, domains);
  c.finish();

  const project = toProject(deployment, p.data!, chain ?? p.data!.BITCOIN_CHAIN ?? SS_DEFAULTS.bitcoinChain);
  return { remote: toRemote(remote, r.data!), project, sites: sites.map((s) => toSite(s!)) };
}

/** The valid domains of a project.conf that has problems, skipping keys that have problems themselves. */
function domainsFromRaw(p: Checked<unknown>): string[] {
  const values = p.values;
  if (!values) return [];
  const usable = (key: string) => (p.flagged.has(key) ? '' : (values[key] ?? ''));
  const all = [usable('PRIMARY_DOMAIN'), ...splitList(usable('OTHER_SITES_LIST'))];
  return all.filter((d, i) => isDomainName(d) && all.indexOf(d) === i);
}

interface Checked<T> {
  /** The typed values, when the file exists and has no problem at all. */
  data?: T;
  /** The values as bash reads them, when the file exists (even with problems). */
  values?: Record<string, string>;
  /** Line of each assignment, for problems found after validation. */
  lines: Record<string, number>;
  /** Keys that have a problem. */
  flagged: Set<string>;
}

/** Far above any real config file; what is larger is not one. */
const CONF_MAX_BYTES = 256 * 1024;

/** Accumulates problems and written stubs across files; finish() throws once. */
class Collector {
  private readonly problems: ConfigProblem[] = [];
  private readonly stubs: string[] = [];

  add(problem: ConfigProblem): void {
    this.problems.push(problem);
  }

  check<S extends z.ZodObject>(
    file: string,
    schema: S,
    cross: (values: Record<string, string>) => CrossIssue[],
    stub: () => string,
  ): Checked<z.output<S>> {
    const read = this.read(file, stub);
    if (read === undefined) return { lines: {}, flagged: new Set() };
    const { values, raw, problems, expansions } = scanConfText(read.text, file);
    warnReadableSecrets(file, read.mode, values);
    warnMail(file, values);
    const lines: Record<string, number> = Object.fromEntries(Object.entries(raw).map(([k, a]) => [k, a.line]));
    // What bash would expand matters only where ssw reads the key: operators' extra keys may hold anything.
    const found: ConfigProblem[] = [
      ...problems,
      ...expansions.filter((p) => p.key !== undefined && p.key in schema.shape),
    ];
    const flagged = new Set(found.map((p) => p.key).filter((k): k is string => k !== undefined));
    const report = (key: string, message: string) => {
      if (flagged.has(key)) return; // one problem per key: the first says most
      flagged.add(key);
      found.push({ file, key, line: lines[key], message });
    };
    // Only keys ssw uses reach a host; operators' extra keys may hold anything.
    for (const key of Object.keys(schema.shape)) {
      const assignment = raw[key];
      if (assignment && hasShellSyntax(assignment.text)) {
        // Bash reads this value literally (single quotes, \$): still refused, since these values reach hosts.
        const shown = values[key] ?? assignment.text;
        report(
          key,
          `expected a literal value: ssw never runs a shell over config, so $(...), backticks and \${...} are not allowed; got ${showValue(key, shown)}`,
        );
      }
    }
    const result = schema.safeParse(values);
    if (!result.success) {
      for (const issue of result.error.issues) report(String(issue.path[0]), issue.message);
    }
    for (const issue of cross(values)) report(issue.key, issue.message);
    // A path is checked here, before anything starts, not first on the host half-way through an operation.
    const bundle = values.ACME_CA_BUNDLE;
    if ('ACME_CA_BUNDLE' in schema.shape && bundle && !flagged.has('ACME_CA_BUNDLE')) {
      try {
        readCaBundle(bundle);
      } catch (err) {
        if (!(err instanceof CaBundleInvalid)) throw err;
        report('ACME_CA_BUNDLE', `${bundle}: ${err.message}`);
      }
    }
    found.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
    this.problems.push(...found);
    return { data: result.success && found.length === 0 ? result.data : undefined, values, lines, flagged };
  }

  site(paths: SsPaths, domain: string): SiteValues | undefined {
    const file = paths.siteConf(domain);
    const s = this.check(file, siteSchema, crossCheckSite, () => siteStub(domain));
    if (s.data && s.data.DOMAIN_NAME !== domain) {
      this.add({
        file,
        key: 'DOMAIN_NAME',
        line: s.lines.DOMAIN_NAME,
        message: `expected "${domain}", the name of the directory this site.conf is in, got "${s.data.DOMAIN_NAME}"`,
      });
      return undefined;
    }
    return s.data;
  }

  get wroteStubs(): boolean {
    return this.stubs.length > 0;
  }

  get clean(): boolean {
    return this.problems.length === 0 && this.stubs.length === 0;
  }

  /**
   * The file's text and mode; undefined if it was missing (a stub is then written) or unreadable (a problem is
   * recorded).
   */
  private read(file: string, stub: () => string): { text: string; mode: number } | undefined {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        // Only a regular file, size-bounded: a FIFO here would block forever, a device fill memory.
        const { data, mode } = readRegularFile(file, CONF_MAX_BYTES);
        return { text: data.toString('utf8'), mode };
      } catch (err) {
        if (err instanceof NotARegularFile) {
          this.add({
            file,
            message: `expected a regular file of at most ${CONF_MAX_BYTES / 1024} KiB, but it is ${err.found}`,
          });
          return undefined;
        }
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') {
          this.add({ file, message: `expected a readable file, but reading it failed (${code ?? String(err)})` });
          return undefined;
        }
      }
      // writeStub refuses to overwrite: if the file appeared meanwhile, read it instead.
      if (writeStub(file, stub())) {
        this.stubs.push(file);
        return undefined;
      }
    }
    return undefined;
  }

  finish(): void {
    if (this.stubs.length > 0) throw new ConfigStubWritten(this.stubs, this.problems);
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

/**
 * One line, once per file, when a file holding passwords is readable by other users (ss writes its files 0744):
 * site.conf always holds them; another file only when it sets a secret key (an old remote.conf's
 * LXD_REMOTE_PASSWORD, a MAILGUN_SMTP_PASSWORD put in project.conf). Names keys, never values.
 */
function warnReadableSecrets(file: string, mode: number, values: Record<string, string>): void {
  if (!(mode & 0o077)) return;
  const site = path.basename(file) === 'site.conf';
  const keys = Object.keys(values).filter((k) => isSecretKey(k) && values[k] !== '');
  if (!site && keys.length === 0) return;
  const what = site ? "this site's passwords" : `a secret (${keys.join(', ')})`;
  warnOnce(
    `mode ${file}`,
    `${file} holds ${what} and is readable by other users (mode ${(mode & 0o777).toString(8)}). Run: chmod 600 ${shellQuote(file)}`,
  );
}

// ss's Ghost could send mail through Mailgun; ss writes these keys (commented) in its site.conf stub.
const MAIL_KEYS = ['GHOST_DEPLOY_SMTP', 'MAILGUN_FROM_ADDRESS', 'MAILGUN_SMTP_USERNAME', 'MAILGUN_SMTP_PASSWORD'];

/**
 * GHOST_DEPLOY_SMTP and MAILGUN_* are read by nothing: one line saying so, once per file, naming the keys that are
 * set (never a value: MAILGUN_SMTP_PASSWORD is a secret). "false", which ss writes for MAILGUN_FROM_ADDRESS, counts
 * as unset.
 */
function warnMail(file: string, values: Record<string, string>): void {
  const set = Object.keys(values).filter(
    (k) => (MAIL_KEYS.includes(k) || k.startsWith('MAILGUN_')) && values[k] !== '' && values[k] !== 'false',
  );
  if (set.length === 0) return;
  warnOnce(
    `mail ${file}`,
    `${set.join(', ')} in ${file} ${set.length === 1 ? 'is' : 'are'} ignored: ssw sends no email (Sovereign Stack avoids SMTP and the mail providers it needs; ssw's notifications are feeds you subscribe to), so Ghost runs without mail.`,
  );
}

/**
 * Links as ss-up makes them (`ln -r -s`), each only where nothing is yet: remotes/R/projects/D -> the project's
 * directory, projects/D/sites/S -> each site's. ssw itself reads the files by their own paths; the links are ss's
 * record of which deployment is on which remote (remoteDeployments reads it) and which sites it serves.
 */
function linkDeployment(paths: SsPaths, remote: string | undefined, deployment: string, domains: string[]): void {
  const link = (from: string, to: string) => {
    try {
      linkStub(from, to);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      warnOnce(`link ${from}`, `could not link ${from} to ${to} as ss-up does (${code}); ssw does not need the link.`);
    }
  };
  // Not to a remote whose DEPLOYMENT_STRING does not list the deployment (or cannot be read).
  if (remote !== undefined && isDirectory(paths.remoteDir(remote)) && isDirectory(paths.projectDir(deployment)))
    link(path.join(paths.remoteDir(remote), 'projects', deployment), paths.projectDir(deployment));
  for (const d of domains) {
    if (isDirectory(paths.siteDir(d))) link(path.join(paths.projectDir(deployment), 'sites', d), paths.siteDir(d));
  }
}

/**
 * The deployments of a remote, for listings: its DEPLOYMENT_STRING's when set, else the deployments linked under
 * remotes/<remote>/projects/ (by ss-up or ssw), whether or not they are up.
 */
export function remoteDeployments(paths: SsPaths, remote: RemoteConfig): string[] {
  if (remote.deployments) return remote.deployments.map((e) => e.deployment);
  return linkedDeployments(paths, remote.name);
}

/** The valid names under remotes/<remote>/projects/ that are (links to) directories. */
export function linkedDeployments(paths: SsPaths, remote: string): string[] {
  return subdirectories(path.join(paths.remoteDir(remote), 'projects')).filter(isName);
}

function toRemote(name: string, v: RemoteValues): RemoteConfig {
  if (v.REGISTRY_URL !== SS_DEFAULTS.registryUrl) {
    // ss set it as the engine's registry mirror; ssw does not reconfigure Docker daemons (it would restart them).
    warnOnce(
      `registry ${name}`,
      `REGISTRY_URL in the remote.conf of "${name}" is ignored: ssw does not configure a registry mirror. Instances pull images from the registry named in each image (see the *_IMAGE keys), or set IMAGE_SOURCE=airgapped to copy them from this machine.`,
    );
  }
  return {
    name,
    ...(v.DEPLOYMENT_STRING !== undefined && { deployments: v.DEPLOYMENT_STRING }),
    registryUrl: v.REGISTRY_URL,
    ...(v.ACME_SERVER !== undefined && { acmeServer: v.ACME_SERVER }),
    ...(v.ACME_CA_BUNDLE !== undefined && { acmeCaBundle: v.ACME_CA_BUNDLE }),
    ...(v.DATA_PLANE_NETWORK !== undefined && { dataPlaneNetwork: v.DATA_PLANE_NETWORK }),
    imageSource: v.IMAGE_SOURCE,
  };
}

function toProject(name: string, v: ProjectValues, chain: BitcoinChain): ProjectConfig {
  // An operator's size wins; ss's project_env.sh overwrote it for testnet/mainnet, which was a bug.
  const disks = DISK_DEFAULTS_GB[chain];
  const size = (key: keyof typeof disks) => v[key] ?? disks[key];
  const instance = (mac: string | undefined, cpuCount: number, memoryMb: number, ipv4?: string): InstanceConfig => ({
    ...(mac !== undefined && { macAddress: mac }),
    ...(ipv4 !== undefined && { ipv4Address: ipv4 }),
    cpuCount,
    memoryMb,
  });
  return {
    name,
    primaryDomain: v.PRIMARY_DOMAIN,
    otherSites: v.OTHER_SITES_LIST,
    domains: [v.PRIMARY_DOMAIN, ...v.OTHER_SITES_LIST],
    bitcoinChain: chain,
    instanceType: v.INSTANCE_TYPE,
    ...(v.BASE_IMAGE !== undefined && { baseImage: v.BASE_IMAGE }),
    www: {
      ...instance(v.WWW_SERVER_MAC_ADDRESS, v.WWW_SERVER_CPU_COUNT, v.WWW_SERVER_MEMORY_MB, v.WWW_SERVER_IPV4_ADDRESS),
      disksGb: {
        ssdata: size('WWW_SSDATA_DISK_SIZE_GB'),
        backup: size('WWW_BACKUP_DISK_SIZE_GB'),
        docker: size('WWW_DOCKER_DISK_SIZE_GB'),
      },
    },
    btcpayserver: {
      ...instance(
        v.BTCPAY_SERVER_MAC_ADDRESS ?? v.BTCPAYSERVER_MAC_ADDRESS,
        v.BTCPAY_SERVER_CPU_COUNT,
        v.BTCPAY_SERVER_MEMORY_MB,
        v.BTCPAY_SERVER_IPV4_ADDRESS,
      ),
      disksGb: {
        ssdata: size('BTCPAYSERVER_SSDATA_DISK_SIZE_GB'),
        backup: size('BTCPAYSERVER_BACKUP_DISK_SIZE_GB'),
        docker: size('BTCPAYSERVER_DOCKER_DISK_SIZE_GB'),
      },
    },
    lnplayserver: instance(
      v.LNPLAY_SERVER_MAC_ADDRESS,
      v.LNPLAY_SERVER_CPU_COUNT,
      v.LNPLAY_SERVER_MEMORY_MB,
      v.LNPLAY_SERVER_IPV4_ADDRESS,
    ),
    hostnames: {
      www: v.WWW_HOSTNAME,
      btcpayServer: v.BTCPAY_SERVER_HOSTNAME,
      lnplayServer: v.LNPLAY_SERVER_HOSTNAME,
      btcpayInCert: v.BTCPAY_HOSTNAME_IN_CERT,
      nextcloud: v.NEXTCLOUD_HOSTNAME,
      gitea: v.GITEA_HOSTNAME,
      nostr: v.NOSTR_HOSTNAME,
    },
    images: {
      ghost: v.GHOST_IMAGE,
      ghostDb: v.GHOST_DB_IMAGE,
      nginx: v.NGINX_IMAGE,
      nextcloud: v.NEXTCLOUD_IMAGE,
      nextcloudDb: v.NEXTCLOUD_DB_IMAGE,
      gitea: v.GITEA_IMAGE,
      giteaDb: v.GITEA_DB_IMAGE,
      nostrRelay: v.NOSTR_RELAY_IMAGE,
    },
    proxyPorts: { http: v.PROXY_HTTP_PORT, https: v.PROXY_HTTPS_PORT },
    btcpay: {
      lightning: v.LIGHTNING_IMPL,
      clboss: v.DEPLOY_CLBOSS_PLUGIN,
      peers: v.BITCOIN_PEERS,
      syncStallSeconds: v.BITCOIN_SYNC_STALL_SECONDS,
      images: {
        bitcoin: v.BITCOIN_IMAGE,
        nbxplorer: v.NBXPLORER_IMAGE,
        btcpay: v.BTCPAY_IMAGE,
        postgres: v.BTCPAY_POSTGRES_IMAGE,
        clightning: v.CLIGHTNING_IMAGE,
        lnd: v.LND_IMAGE,
      },
    },
  };
}

function toSite(v: SiteValues): SiteConfig {
  const optional = <K extends string, T>(key: K, value: T | undefined) =>
    (value === undefined ? {} : { [key]: value }) as Partial<Record<K, T>>;
  return {
    domain: v.DOMAIN_NAME,
    languageCodes: v.SITE_LANGUAGE_CODES,
    deploy: { ghost: v.DEPLOY_GHOST, nextcloud: v.DEPLOY_NEXTCLOUD, gitea: v.DEPLOY_GITEA, nostr: v.DEPLOY_NOSTR },
    btcpayAltNames: v.BTCPAY_ALT_NAMES,
    ...optional('nostrAccountPubkey', v.NOSTR_ACCOUNT_PUBKEY),
    ...optional('acmeServer', v.ACME_SERVER),
    ...optional('acmeCaBundle', v.ACME_CA_BUNDLE),
    backupFullEveryDays: v.BACKUP_FULL_EVERY_DAYS,
    backupKeepDays: v.BACKUP_KEEP_DAYS,
    ...optional('backupOffsiteRemote', v.BACKUP_OFFSITE_REMOTE),
    ...optional('backupOffsitePath', v.BACKUP_OFFSITE_PATH),
    secrets: {
      duplicityBackupPassphrase: v.DUPLICITY_BACKUP_PASSPHRASE,
      ...optional('ghostMysqlPassword', v.GHOST_MYSQL_PASSWORD),
      ...optional('ghostMysqlRootPassword', v.GHOST_MYSQL_ROOT_PASSWORD),
      ...optional('nextcloudMysqlPassword', v.NEXTCLOUD_MYSQL_PASSWORD),
      ...optional('nextcloudMysqlRootPassword', v.NEXTCLOUD_MYSQL_ROOT_PASSWORD),
      ...optional('giteaMysqlPassword', v.GITEA_MYSQL_PASSWORD),
      ...optional('giteaMysqlRootPassword', v.GITEA_MYSQL_ROOT_PASSWORD),
      ...optional('btcpayPostgresPassword', v.BTCPAY_POSTGRES_PASSWORD),
    },
  };
}
