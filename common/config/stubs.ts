import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DISK_DEFAULTS_GB, SS_DEFAULTS } from './schema';

/**
 * Commented stubs for missing config files, as ss-remote and ss-up write them,
 * so an operator learns every key by reading the file ssw just created.
 *
 * Differences from ss, on purpose: keys the operator must decide (the
 * primary domain) are left empty rather than filled with a placeholder that
 * would validate; files are 0600 in 0700 directories because site.conf holds
 * passwords (ss used 0744); passwords come from node:crypto rather than
 * `gpg --gen-random`. The links ss-up makes between the directories
 * (remotes/R/projects/D, projects/D/sites/S) are made the same way: linkStub.
 */

/** A fresh random password: 32 bytes as base64url, so it needs no quoting or escaping anywhere. */
export function newPassword(): string {
  return randomBytes(32).toString('base64url');
}

const HEADER = [
  '# Read by ssw (Sovereign Stack Workflows), compatible with Sovereign Stack.',
  '# Values are read literally; no shell ever runs over this file, so write',
  '# values, not $(commands). An empty value means "not set".',
];

export function remoteStub(remote: string): string {
  return [
    `# remote.conf for the remote "${remote}".`,
    ...HEADER,
    '',
    '# Optional: the only deployments (LXD projects) this remote may host, and the',
    '# Bitcoin chain of each, as (deployment|chain) entries separated by commas; chain',
    '# is regtest, testnet, signet or mainnet. Unset, any deployment may run here, on',
    "# the chain its project.conf's BITCOIN_CHAIN names (default regtest). For example:",
    '# DEPLOYMENT_STRING="(intranet|regtest),(public|mainnet)"',
    '',
    `# ss's Docker registry mirror (default ${SS_DEFAULTS.registryUrl}). ssw ignores it, with a warning:`,
    '# name the registry in each *_IMAGE in project.conf, or use IMAGE_SOURCE=airgapped.',
    '# REGISTRY_URL="http://registry.example.com:5000"',
    '',
    "# ACME directory for TLS certificates: production (Let's Encrypt, the default), staging, or a URL.",
    '# ACME_SERVER="staging"',
    '# CA certificates (a file on this machine; ssw copies it to the www host) for an ACME server with a private TLS certificate.',
    '# ACME_CA_BUNDLE="/etc/ssl/private-ca.pem"',
    '',
    '# Instances join the LAN by macvlan on the data-plane interface given to',
    '# "ssw remote add". On a host without such a LAN (a lab, a test host), name an',
    '# LXD managed bridge here instead and instances take addresses from it.',
    '# DATA_PLANE_NETWORK="lxdbr0"',
    '',
    '# Where the www instance gets Docker images: registry (its engine pulls them,',
    "# the default) or airgapped (ssw copies them from this machine's Docker).",
    '# IMAGE_SOURCE=registry',
    '',
  ].join('\n');
}

export function projectStub(deployment: string): string {
  const regtest = DISK_DEFAULTS_GB.regtest;
  const mainnet = DISK_DEFAULTS_GB.mainnet;
  return [
    `# project.conf for the deployment "${deployment}".`,
    ...HEADER,
    '',
    '# The primary site, and any other sites this deployment serves (comma-separated).',
    '# Each gets its own site.conf under sites/<domain>/.',
    'PRIMARY_DOMAIN=',
    '# OTHER_SITES_LIST="example.org,example.net"',
    '',
    '# One MAC address per instance, matching a DHCP reservation; an instance',
    '# without a MAC address is not deployed.',
    'WWW_SERVER_MAC_ADDRESS=',
    `# WWW_SERVER_CPU_COUNT="${SS_DEFAULTS.cpuCount}"`,
    `# WWW_SERVER_MEMORY_MB="${SS_DEFAULTS.memoryMb}"`,
    `# Volume sizes in GB default by chain (here regtest ${regtest.WWW_SSDATA_DISK_SIZE_GB}, mainnet ${mainnet.WWW_SSDATA_DISK_SIZE_GB}).`,
    `# WWW_SSDATA_DISK_SIZE_GB=${mainnet.WWW_SSDATA_DISK_SIZE_GB}`,
    '',
    '# With DATA_PLANE_NETWORK (remote.conf), a fixed address for the instance on that',
    "# bridge (LXD's DHCP reserves it for the MAC); on a LAN, reserve it on your DHCP server.",
    '# WWW_SERVER_IPV4_ADDRESS=10.0.0.20',
    '',
    'BTCPAY_SERVER_MAC_ADDRESS=',
    `# BTCPAY_SERVER_CPU_COUNT="${SS_DEFAULTS.cpuCount}"`,
    `# BTCPAY_SERVER_MEMORY_MB="${SS_DEFAULTS.memoryMb}"`,
    `# Volume sizes in GB default by chain (here regtest ${regtest.BTCPAYSERVER_DOCKER_DISK_SIZE_GB}, mainnet ${mainnet.BTCPAYSERVER_DOCKER_DISK_SIZE_GB}).`,
    `# BTCPAYSERVER_DOCKER_DISK_SIZE_GB=${mainnet.BTCPAYSERVER_DOCKER_DISK_SIZE_GB}`,
    '',
    'LNPLAY_SERVER_MAC_ADDRESS=',
    `# LNPLAY_SERVER_CPU_COUNT="${SS_DEFAULTS.cpuCount}"`,
    `# LNPLAY_SERVER_MEMORY_MB="${SS_DEFAULTS.memoryMb}"`,
    '',
    "# The chain (default regtest); must agree with this deployment's entry in the remote's DEPLOYMENT_STRING if set.",
    '# BITCOIN_CHAIN=mainnet',
    '',
    '# virtual-machine (default) or container (an LXD system container).',
    '# INSTANCE_TYPE=virtual-machine',
    '# What the weekly base image of the instances is built from: an image-server',
    '# alias or a local image alias (default images:ubuntu/jammy/cloud).',
    '# BASE_IMAGE=images:ubuntu/jammy/cloud',
    '',
    '# Image overrides, for example:',
    `# GHOST_IMAGE="${SS_DEFAULTS.images.GHOST_IMAGE}"`,
    `# NGINX_IMAGE="${SS_DEFAULTS.images.NGINX_IMAGE}"`,
    '',
    "# The reverse proxy's ports on the www instance (default 80 and 443).",
    '# PROXY_HTTP_PORT=80',
    '# PROXY_HTTPS_PORT=443',
    '',
  ].join('\n');
}

export function siteStub(domain: string): string {
  return [
    `# site.conf for ${domain}. It holds this site's passwords: keep it private.`,
    ...HEADER,
    '',
    `DOMAIN_NAME="${domain}"`,
    '# Language codes, one Ghost per code (en at the root, others at /<code>).',
    'SITE_LANGUAGE_CODES="en"',
    '# Extra BTCPay names (<name>.<domain>) on the certificate.',
    '# BTCPAY_ALT_NAMES="tip,store,pay"',
    '',
    '# Encrypts the backups; without it they cannot be restored.',
    `DUPLICITY_BACKUP_PASSPHRASE="${newPassword()}"`,
    '',
    'DEPLOY_GHOST=true',
    'DEPLOY_NEXTCLOUD=false',
    'DEPLOY_GITEA=false',
    'DEPLOY_NOSTR=false',
    '# Hex public key the nostr relay accepts events from (needed if DEPLOY_NOSTR=true).',
    'NOSTR_ACCOUNT_PUBKEY=',
    '',
    `GHOST_MYSQL_PASSWORD="${newPassword()}"`,
    `GHOST_MYSQL_ROOT_PASSWORD="${newPassword()}"`,
    `NEXTCLOUD_MYSQL_PASSWORD="${newPassword()}"`,
    `NEXTCLOUD_MYSQL_ROOT_PASSWORD="${newPassword()}"`,
    `GITEA_MYSQL_PASSWORD="${newPassword()}"`,
    `GITEA_MYSQL_ROOT_PASSWORD="${newPassword()}"`,
    `BTCPAY_POSTGRES_PASSWORD="${newPassword()}"`,
    '',
    "# ACME directory for this site's certificates (production, staging or a URL); overrides the remote's.",
    '# ACME_SERVER="staging"',
    '# Backups: a full backup every N days (incrementals in between), and how many days they are kept (0: forever).',
    '# BACKUP_FULL_EVERY_DAYS=30',
    '# BACKUP_KEEP_DAYS=90',
    '# A second copy of every archive on another ssw remote (off-site, another data center), and where on it.',
    '# BACKUP_OFFSITE_REMOTE="offsite"',
    '# BACKUP_OFFSITE_PATH="/home/ubuntu/ss-offsite"',
    '',
  ].join('\n');
}

/**
 * Create `file` with `content` (mode 0600, parent directories 0700) unless it
 * exists. Returns false when the file already existed: an operator's file is
 * never overwritten, even if it appeared between our check and our write.
 */
export function writeStub(file: string, content: string): boolean {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    // The umask can only remove bits, but be explicit: this file may hold passwords.
    fs.fchmodSync(fd, 0o600);
    fs.writeSync(fd, content);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/**
 * Make `link` a symlink to the directory `target`, relative as `ln -r -s` makes it (from the real location of the
 * link's directory to the real target: ss's `projects/D/sites/S -> ../../../sites/S`), unless something (a link, a
 * directory, a dangling link) is already there. Parent directories are created 0700. Returns whether it linked.
 */
export function linkStub(link: string, target: string): boolean {
  try {
    fs.lstatSync(link);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const dir = path.dirname(link);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const relative = path.relative(fs.realpathSync(dir), fs.realpathSync(target));
  try {
    fs.symlinkSync(relative, link, 'dir');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  return true;
}
