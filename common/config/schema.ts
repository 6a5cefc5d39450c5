import { z } from 'zod';
import { BTCPAY_IMAGE_DEFAULTS } from './btcpay-defaults';
import {
  EXPECTED,
  isBitcoinChain,
  isDnsLabel,
  isDockerImage,
  isDomainName,
  isAbsolutePath,
  isAcmeServer,
  isHttpUrl,
  isLanguageCode,
  isLxdImageAlias,
  isLxdNetworkName,
  isMacAddress,
  isName,
  macUnusable,
  isNostrPubkey,
  isSecretValue,
  showValue,
  splitList,
  type BitcoinChain,
} from './validators';

/**
 * zod schemas for remote.conf, project.conf and site.conf.
 *
 * Input is the parser's `Record<string, string>` (each value as bash reads it); output keeps the files' own KEY
 * names with typed values (load.ts maps them to camelCase). Each field is built
 * from a key and a "kind" so messages can name what was expected and quote the
 * offending value, except for secret keys, whose values are never quoted.
 * An empty value (`KEY=`, as ss's stubs write) counts as absent, as it does
 * for ss's `[ -n "$KEY" ]` tests. Unknown keys are stripped by z.object:
 * operators keep extra keys, but nothing unknown reaches a host.
 */

/** The typed value; or a detail to append to the "expected …" message; or the whole message instead of it. */
type Result<T> = { value: T } | { detail?: string; message?: string };

interface Kind<T> {
  expected: string;
  /** The typed value, or a detail to append to the message. */
  parse(raw: string): Result<T>;
}

const NO: { detail?: string; message?: string } = {};

const simple = (expected: string, ok: (s: string) => boolean): Kind<string> => ({
  expected,
  parse: (raw) => (ok(raw) ? { value: raw } : NO),
});

const domain = simple(EXPECTED.domain, isDomainName);
const label = simple(EXPECTED.label, isDnsLabel);
const url = simple(EXPECTED.url, isHttpUrl);
const acmeServer = simple(EXPECTED.acmeServer, isAcmeServer);
const absPath = simple(EXPECTED.absPath, isAbsolutePath);
const image = simple(EXPECTED.image, isDockerImage);
const lxdImage = simple(EXPECTED.lxdImage, isLxdImageAlias);
const lxdNetwork = simple(EXPECTED.lxdName, isLxdNetworkName);
const nostrPubkey = simple(EXPECTED.nostrPubkey, isNostrPubkey);
const secret = simple(EXPECTED.secret, isSecretValue);
const language = simple(EXPECTED.language, isLanguageCode);

// Stored lowercase: LXD reports MACs lowercase, and comparing them must not depend on how the operator typed them.
// A well-formed but unusable address (multicast, all-zero) gets a message saying why and what to use instead.
const mac: Kind<string> = {
  expected: EXPECTED.mac,
  parse: (raw) => {
    if (isMacAddress(raw)) return { value: raw.toLowerCase() };
    const unusable = macUnusable(raw);
    return unusable ? { message: unusable } : NO;
  },
};

const ipv4: Kind<string> = {
  expected: 'an IPv4 address like 10.0.0.20',
  parse: (raw) =>
    /^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$/.test(raw) ? { value: raw } : NO,
};

const chain: Kind<BitcoinChain> = {
  expected: EXPECTED.chain,
  parse: (raw) => (isBitcoinChain(raw) ? { value: raw } : NO),
};

const bool: Kind<boolean> = {
  expected: EXPECTED.boolean,
  parse: (raw) => (raw === 'true' ? { value: true } : raw === 'false' ? { value: false } : NO),
};

export type InstanceType = 'virtual-machine' | 'container';
const instanceType: Kind<InstanceType> = {
  expected: 'virtual-machine or container',
  parse: (raw) => (raw === 'virtual-machine' || raw === 'container' ? { value: raw } : NO),
};

export type LightningImpl = 'clightning' | 'lnd';
const lightningImpl: Kind<LightningImpl> = {
  expected: 'clightning or lnd',
  parse: (raw) => (raw === 'clightning' || raw === 'lnd' ? { value: raw } : NO),
};

// A Bitcoin peer the node connects to: host or IPv4 address, then a port.
const peer = simple('host:port', (raw) => {
  const m = /^([a-z0-9.-]+):([0-9]{1,5})$/i.exec(raw);
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
});

export type ImageSource = 'registry' | 'airgapped';
const imageSource: Kind<ImageSource> = {
  expected: 'registry or airgapped',
  parse: (raw) => (raw === 'registry' || raw === 'airgapped' ? { value: raw } : NO),
};

function int(min: number, max: number): Kind<number> {
  return {
    expected: `a whole number from ${min} to ${max}`,
    parse: (raw) => {
      if (!/^[0-9]+$/.test(raw)) return NO;
      const n = Number(raw);
      return n >= min && n <= max ? { value: n } : NO;
    },
  };
}

function list(item: Kind<string>, what: string, example: string, min = 0): Kind<string[]> {
  return {
    expected: `a comma-separated list of ${what} like ${example}`,
    parse: (raw) => {
      const items = splitList(raw);
      if (items.length < min) return { detail: `at least ${min} item${min === 1 ? '' : 's'} needed` };
      const bad = items.filter((i) => !('value' in item.parse(i)));
      if (bad.length > 0)
        return {
          detail: `${bad.map((b) => JSON.stringify(b)).join(', ')} ${bad.length === 1 ? 'is' : 'are'} not ${item.expected}`,
        };
      const dup = items.find((v, i) => items.indexOf(v) !== i);
      if (dup !== undefined) return { detail: `${JSON.stringify(dup)} is listed twice` };
      return { value: items };
    },
  };
}

/** One `(deployment|chain)` entry of a remote's DEPLOYMENT_STRING. */
export interface DeploymentEntry {
  deployment: string;
  chain: BitcoinChain;
}

// `(intranet|regtest),(public|mainnet)`: the deployments (LXD projects) a remote
// hosts and the chain each runs, as ss-remote writes it.
const deploymentString: Kind<DeploymentEntry[]> = {
  expected: 'a list of (deployment|chain) entries like (intranet|regtest),(public|mainnet)',
  parse: (raw) => {
    const entries: DeploymentEntry[] = [];
    for (const part of splitList(raw)) {
      const m = /^\(([^|()]*)\|([^|()]*)\)$/.exec(part);
      if (!m) return { detail: `${JSON.stringify(part)} is not of the form (deployment|chain)` };
      const [, deployment, c] = m;
      if (!isName(deployment)) return { detail: `deployment ${JSON.stringify(deployment)} is not ${EXPECTED.name}` };
      if (!isBitcoinChain(c)) return { detail: `chain ${JSON.stringify(c)} is not ${EXPECTED.chain}` };
      if (entries.some((e) => e.deployment === deployment))
        return { detail: `deployment ${JSON.stringify(deployment)} is listed twice` };
      entries.push({ deployment, chain: c });
    }
    if (entries.length === 0) return { detail: 'no entries' };
    return { value: entries };
  },
};

type Ctx = z.RefinementCtx;

function check<T>(key: string, raw: string, kind: Kind<T>, ctx: Ctx): T {
  const r = kind.parse(raw);
  if ('value' in r) return r.value;
  if (r.message) {
    ctx.addIssue({ code: 'custom', message: r.message });
    return z.NEVER;
  }
  const detail = r.detail ? ` (${r.detail})` : '';
  ctx.addIssue({ code: 'custom', message: `expected ${kind.expected}, got ${showValue(key, raw)}${detail}` });
  return z.NEVER;
}

const missing = (kind: Kind<unknown>) => `expected ${kind.expected}, but it is missing or empty`;

/** Field factories take the key so messages know whether the value may be shown. */
type Field = (key: string) => z.ZodType<unknown, string | undefined>;

function required<T>(kind: Kind<T>) {
  return (key: string) =>
    z
      .string()
      .optional()
      .transform((raw, ctx): T => {
        if (raw === undefined || raw === '') {
          ctx.addIssue({ code: 'custom', message: missing(kind) });
          return z.NEVER;
        }
        return check(key, raw, kind, ctx);
      });
}

function optional<T>(kind: Kind<T>) {
  return (key: string) =>
    z
      .string()
      .optional()
      .transform((raw, ctx): T | undefined =>
        raw === undefined || raw === '' ? undefined : check(key, raw, kind, ctx),
      );
}

function withDefault<T>(kind: Kind<T>, fallback: T) {
  return (key: string) =>
    z
      .string()
      .optional()
      .transform((raw, ctx): T => (raw === undefined || raw === '' ? fallback : check(key, raw, kind, ctx)));
}

function object<S extends Record<string, Field>>(spec: S) {
  const shape = {} as { [K in keyof S]: ReturnType<S[K]> };
  for (const key of Object.keys(spec) as (keyof S & string)[]) {
    shape[key] = spec[key](key) as ReturnType<S[typeof key]>;
  }
  return z.object(shape);
}

/** ss's defaults (deployment/deployment_defaults.sh, deployment/project/project_defaults.sh). */
export const SS_DEFAULTS = {
  registryUrl: 'https://index.docker.io/v1',
  bitcoinChain: 'regtest' as BitcoinChain,
  cpuCount: 4,
  memoryMb: 4096,
  hostnames: {
    WWW_HOSTNAME: 'www',
    BTCPAY_SERVER_HOSTNAME: 'btcpayserver',
    LNPLAY_SERVER_HOSTNAME: 'lnplayserver',
    BTCPAY_HOSTNAME_IN_CERT: 'btcpay',
    NEXTCLOUD_HOSTNAME: 'nextcloud',
    GITEA_HOSTNAME: 'git',
    NOSTR_HOSTNAME: 'relay',
  },
  images: {
    GHOST_IMAGE: 'ghost:5.103.0',
    GHOST_DB_IMAGE: 'mysql:8.0.32',
    NGINX_IMAGE: 'nginx:1.27.3',
    NEXTCLOUD_IMAGE: 'nextcloud:25.0.4',
    NEXTCLOUD_DB_IMAGE: 'mariadb:10.11.2-jammy',
    // ss left this at :latest ("TODO PIN"); a moving tag would change Gitea under an unchanged config.
    GITEA_IMAGE: 'gitea/gitea:1.22.3',
    GITEA_DB_IMAGE: 'mariadb:10.11.2-jammy',
    NOSTR_RELAY_IMAGE: 'scsibug/nostr-rs-relay:0.9.0',
    ...BTCPAY_IMAGE_DEFAULTS,
  },
  /** Minutes without a new block (while peers are ahead) before the chain-sync wait fails, in seconds. */
  bitcoinSyncStallSeconds: 1800,
} as const;

/**
 * Volume sizes (GB) per chain, from deployment_defaults.sh (regtest) and
 * project_env.sh (testnet, mainnet). signet is not in ss; it gets testnet's.
 */
const TESTNET_DISKS_GB: Record<DiskKey, number> = {
  WWW_SSDATA_DISK_SIZE_GB: 30,
  WWW_BACKUP_DISK_SIZE_GB: 30,
  WWW_DOCKER_DISK_SIZE_GB: 50,
  BTCPAYSERVER_SSDATA_DISK_SIZE_GB: 30,
  BTCPAYSERVER_BACKUP_DISK_SIZE_GB: 30,
  BTCPAYSERVER_DOCKER_DISK_SIZE_GB: 100,
};

export const DISK_DEFAULTS_GB: Record<BitcoinChain, Record<DiskKey, number>> = {
  regtest: {
    WWW_SSDATA_DISK_SIZE_GB: 20,
    WWW_BACKUP_DISK_SIZE_GB: 50,
    WWW_DOCKER_DISK_SIZE_GB: 30,
    BTCPAYSERVER_SSDATA_DISK_SIZE_GB: 20,
    BTCPAYSERVER_BACKUP_DISK_SIZE_GB: 20,
    BTCPAYSERVER_DOCKER_DISK_SIZE_GB: 30,
  },
  testnet: TESTNET_DISKS_GB,
  signet: TESTNET_DISKS_GB,
  mainnet: {
    WWW_SSDATA_DISK_SIZE_GB: 40,
    WWW_BACKUP_DISK_SIZE_GB: 40,
    WWW_DOCKER_DISK_SIZE_GB: 1000,
    BTCPAYSERVER_SSDATA_DISK_SIZE_GB: 30,
    BTCPAYSERVER_BACKUP_DISK_SIZE_GB: 30,
    BTCPAYSERVER_DOCKER_DISK_SIZE_GB: 250,
  },
};

export const DISK_KEYS = [
  'WWW_SSDATA_DISK_SIZE_GB',
  'WWW_BACKUP_DISK_SIZE_GB',
  'WWW_DOCKER_DISK_SIZE_GB',
  'BTCPAYSERVER_SSDATA_DISK_SIZE_GB',
  'BTCPAYSERVER_BACKUP_DISK_SIZE_GB',
  'BTCPAYSERVER_DOCKER_DISK_SIZE_GB',
] as const;
export type DiskKey = (typeof DISK_KEYS)[number];

const cpu = withDefault(int(1, 512), SS_DEFAULTS.cpuCount);
const memory = withDefault(int(256, 4 * 1024 * 1024), SS_DEFAULTS.memoryMb);
// No default here: the right size depends on the chain, which may come from the remote's DEPLOYMENT_STRING.
const disk = optional(int(1, 1024 * 1024));

export const remoteSchema = object({
  // Optional, as in the newest ss (its remote.conf stub no longer has it): unset, any deployment may run on the remote.
  DEPLOYMENT_STRING: optional(deploymentString),
  REGISTRY_URL: withDefault(url, SS_DEFAULTS.registryUrl),
  ACME_SERVER: optional(acmeServer),
  ACME_CA_BUNDLE: optional(absPath),
  DATA_PLANE_NETWORK: optional(lxdNetwork),
  IMAGE_SOURCE: withDefault(imageSource, 'registry'),
});

export const projectSchema = object({
  PRIMARY_DOMAIN: required(domain),
  OTHER_SITES_LIST: withDefault(list(domain, 'domain names', 'example.org,example.net'), []),
  BITCOIN_CHAIN: optional(chain),
  INSTANCE_TYPE: withDefault(instanceType, 'virtual-machine'),
  BASE_IMAGE: optional(lxdImage),
  WWW_SERVER_MAC_ADDRESS: optional(mac),
  BTCPAY_SERVER_MAC_ADDRESS: optional(mac),
  // The name older ss versions used; read when the current one is absent.
  BTCPAYSERVER_MAC_ADDRESS: optional(mac),
  LNPLAY_SERVER_MAC_ADDRESS: optional(mac),
  // A fixed address on DATA_PLANE_NETWORK (an LXD bridge: its DHCP is LXD's, so the reservation is made there).
  WWW_SERVER_IPV4_ADDRESS: optional(ipv4),
  BTCPAY_SERVER_IPV4_ADDRESS: optional(ipv4),
  LNPLAY_SERVER_IPV4_ADDRESS: optional(ipv4),
  WWW_SERVER_CPU_COUNT: cpu,
  WWW_SERVER_MEMORY_MB: memory,
  BTCPAY_SERVER_CPU_COUNT: cpu,
  BTCPAY_SERVER_MEMORY_MB: memory,
  LNPLAY_SERVER_CPU_COUNT: cpu,
  LNPLAY_SERVER_MEMORY_MB: memory,
  WWW_SSDATA_DISK_SIZE_GB: disk,
  WWW_BACKUP_DISK_SIZE_GB: disk,
  WWW_DOCKER_DISK_SIZE_GB: disk,
  BTCPAYSERVER_SSDATA_DISK_SIZE_GB: disk,
  BTCPAYSERVER_BACKUP_DISK_SIZE_GB: disk,
  BTCPAYSERVER_DOCKER_DISK_SIZE_GB: disk,
  WWW_HOSTNAME: withDefault(label, SS_DEFAULTS.hostnames.WWW_HOSTNAME),
  BTCPAY_SERVER_HOSTNAME: withDefault(label, SS_DEFAULTS.hostnames.BTCPAY_SERVER_HOSTNAME),
  LNPLAY_SERVER_HOSTNAME: withDefault(label, SS_DEFAULTS.hostnames.LNPLAY_SERVER_HOSTNAME),
  BTCPAY_HOSTNAME_IN_CERT: withDefault(label, SS_DEFAULTS.hostnames.BTCPAY_HOSTNAME_IN_CERT),
  NEXTCLOUD_HOSTNAME: withDefault(label, SS_DEFAULTS.hostnames.NEXTCLOUD_HOSTNAME),
  GITEA_HOSTNAME: withDefault(label, SS_DEFAULTS.hostnames.GITEA_HOSTNAME),
  NOSTR_HOSTNAME: withDefault(label, SS_DEFAULTS.hostnames.NOSTR_HOSTNAME),
  GHOST_IMAGE: withDefault(image, SS_DEFAULTS.images.GHOST_IMAGE),
  GHOST_DB_IMAGE: withDefault(image, SS_DEFAULTS.images.GHOST_DB_IMAGE),
  NGINX_IMAGE: withDefault(image, SS_DEFAULTS.images.NGINX_IMAGE),
  NEXTCLOUD_IMAGE: withDefault(image, SS_DEFAULTS.images.NEXTCLOUD_IMAGE),
  NEXTCLOUD_DB_IMAGE: withDefault(image, SS_DEFAULTS.images.NEXTCLOUD_DB_IMAGE),
  GITEA_IMAGE: withDefault(image, SS_DEFAULTS.images.GITEA_IMAGE),
  GITEA_DB_IMAGE: withDefault(image, SS_DEFAULTS.images.GITEA_DB_IMAGE),
  NOSTR_RELAY_IMAGE: withDefault(image, SS_DEFAULTS.images.NOSTR_RELAY_IMAGE),
  BITCOIN_IMAGE: withDefault(image, SS_DEFAULTS.images.BITCOIN_IMAGE),
  NBXPLORER_IMAGE: withDefault(image, SS_DEFAULTS.images.NBXPLORER_IMAGE),
  BTCPAY_IMAGE: withDefault(image, SS_DEFAULTS.images.BTCPAY_IMAGE),
  BTCPAY_POSTGRES_IMAGE: withDefault(image, SS_DEFAULTS.images.BTCPAY_POSTGRES_IMAGE),
  CLIGHTNING_IMAGE: withDefault(image, SS_DEFAULTS.images.CLIGHTNING_IMAGE),
  LND_IMAGE: withDefault(image, SS_DEFAULTS.images.LND_IMAGE),
  // btcpayserver-docker's BTCPAYGEN_LIGHTNING; ss deploys Core Lightning.
  LIGHTNING_IMPL: withDefault(lightningImpl, 'clightning'),
  DEPLOY_CLBOSS_PLUGIN: withDefault(bool, false),
  // Peers the node connects to only (bitcoind's connect=): a node of the operator's own, or a test's.
  BITCOIN_PEERS: withDefault(list(peer, 'host:port peers', '192.0.2.5:8333,node.example.org:8333'), []),
  BITCOIN_SYNC_STALL_SECONDS: withDefault(int(60, 7 * 24 * 3600), SS_DEFAULTS.bitcoinSyncStallSeconds),
  PROXY_HTTP_PORT: withDefault(int(1, 65535), 80),
  PROXY_HTTPS_PORT: withDefault(int(1, 65535), 443),
});

export const siteSchema = object({
  DOMAIN_NAME: required(domain),
  SITE_LANGUAGE_CODES: withDefault(list(language, 'language codes', 'en,es', 1), ['en']),
  DEPLOY_GHOST: withDefault(bool, true),
  DEPLOY_NEXTCLOUD: withDefault(bool, false),
  DEPLOY_GITEA: withDefault(bool, false),
  DEPLOY_NOSTR: withDefault(bool, false),
  BTCPAY_ALT_NAMES: withDefault(list(label, 'DNS labels', 'tip,store,pay'), []),
  NOSTR_ACCOUNT_PUBKEY: optional(nostrPubkey),
  ACME_SERVER: optional(acmeServer),
  ACME_CA_BUNDLE: optional(absPath),
  BACKUP_FULL_EVERY_DAYS: withDefault(int(1, 3650), 30),
  BACKUP_KEEP_DAYS: withDefault(int(0, 36500), 90),
  BACKUP_OFFSITE_REMOTE: optional(simple(EXPECTED.name, isName)),
  BACKUP_OFFSITE_PATH: optional(absPath),
  DUPLICITY_BACKUP_PASSPHRASE: required(secret),
  GHOST_MYSQL_PASSWORD: optional(secret),
  GHOST_MYSQL_ROOT_PASSWORD: optional(secret),
  NEXTCLOUD_MYSQL_PASSWORD: optional(secret),
  NEXTCLOUD_MYSQL_ROOT_PASSWORD: optional(secret),
  GITEA_MYSQL_PASSWORD: optional(secret),
  GITEA_MYSQL_ROOT_PASSWORD: optional(secret),
  // BTCPay Server's and NBXplorer's PostgreSQL (the primary site's): generated on first use when missing.
  BTCPAY_POSTGRES_PASSWORD: optional(secret),
});

export type RemoteValues = z.output<typeof remoteSchema>;
export type ProjectValues = z.output<typeof projectSchema>;
export type SiteValues = z.output<typeof siteSchema>;

/** A problem between keys of one file, found on the raw values so it is reported even when other keys are invalid. */
export interface CrossIssue {
  key: string;
  message: string;
}

const isSet = (v: string | undefined): v is string => v !== undefined && v !== '';
const flag = (values: Record<string, string>, key: string, fallback: boolean) =>
  isSet(values[key]) ? values[key] === 'true' : fallback;

export function crossCheckProject(values: Record<string, string>): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const primary = values.PRIMARY_DOMAIN;
  if (isSet(primary) && isSet(values.OTHER_SITES_LIST) && splitList(values.OTHER_SITES_LIST).includes(primary)) {
    issues.push({
      key: 'OTHER_SITES_LIST',
      message: `expected only domains other than PRIMARY_DOMAIN, but it lists ${JSON.stringify(primary)} again`,
    });
  }
  const current = values.BTCPAY_SERVER_MAC_ADDRESS;
  const legacy = values.BTCPAYSERVER_MAC_ADDRESS;
  if (isSet(current) && isSet(legacy) && current.toLowerCase() !== legacy.toLowerCase()) {
    issues.push({
      key: 'BTCPAYSERVER_MAC_ADDRESS',
      message: 'expected the same value as BTCPAY_SERVER_MAC_ADDRESS (the older name of the same key), or no value',
    });
  }
  // Two instances with one MAC would fight over one DHCP reservation.
  const macKeys = [
    'WWW_SERVER_MAC_ADDRESS',
    isSet(current) ? 'BTCPAY_SERVER_MAC_ADDRESS' : 'BTCPAYSERVER_MAC_ADDRESS',
    'LNPLAY_SERVER_MAC_ADDRESS',
  ];
  const seen = new Map<string, string>();
  for (const key of macKeys) {
    const v = values[key];
    if (!isSet(v) || !isMacAddress(v)) continue;
    const other = seen.get(v.toLowerCase());
    if (other) issues.push({ key, message: `expected a MAC address different from ${other}'s, got the same one` });
    else seen.set(v.toLowerCase(), key);
  }
  return issues;
}

// Which passwords each app needs; ss's stub always writes all of them, but a hand-written site.conf may not.
const APP_SECRETS: Array<[deployKey: string, fallback: boolean, keys: string[]]> = [
  ['DEPLOY_GHOST', true, ['GHOST_MYSQL_PASSWORD', 'GHOST_MYSQL_ROOT_PASSWORD']],
  ['DEPLOY_NEXTCLOUD', false, ['NEXTCLOUD_MYSQL_PASSWORD', 'NEXTCLOUD_MYSQL_ROOT_PASSWORD']],
  ['DEPLOY_GITEA', false, ['GITEA_MYSQL_PASSWORD', 'GITEA_MYSQL_ROOT_PASSWORD']],
];

export function crossCheckSite(values: Record<string, string>): CrossIssue[] {
  const issues: CrossIssue[] = [];
  for (const [deployKey, fallback, keys] of APP_SECRETS) {
    if (!flag(values, deployKey, fallback)) continue;
    for (const key of keys) {
      if (!isSet(values[key]))
        issues.push({ key, message: `expected a password because ${deployKey} is true, but it is missing or empty` });
    }
  }
  // The relay whitelists exactly this key; without one it would accept no one (or, worse, everyone).
  if (flag(values, 'DEPLOY_NOSTR', false) && !isSet(values.NOSTR_ACCOUNT_PUBKEY)) {
    issues.push({
      key: 'NOSTR_ACCOUNT_PUBKEY',
      message: `expected ${EXPECTED.nostrPubkey} because DEPLOY_NOSTR is true, but it is missing or empty`,
    });
  }
  return issues;
}
