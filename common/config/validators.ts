import { isIP } from 'node:net';
import { UserError } from '../errors';

/**
 * Small, strict validators for every config value that ends up on a host:
 * in a path, a hostname, an LXD/Docker object name, a URL or a command's
 * argv. They only accept what Sovereign Stack's own values look like, so a
 * config file can never smuggle shell syntax or path components anywhere.
 * The CLI reuses them for flags (`--deployment`, `--domain`, remote names).
 */

/** The Bitcoin chains Sovereign Stack deploys (BITCOIN_CHAIN, DEPLOYMENT_STRING). */
export const BITCOIN_CHAINS = ['regtest', 'testnet', 'signet', 'mainnet'] as const;
export type BitcoinChain = (typeof BITCOIN_CHAINS)[number];

/** What each kind of value must look like, phrased for "expected …" messages. */
export const EXPECTED = {
  name: 'a name of lowercase letters, digits and "-" (1-63 characters, not starting with "-")',
  domain: 'a lowercase domain name like example.com (no trailing dot)',
  label: 'a lowercase DNS label like www (letters, digits, "-")',
  mac: 'a MAC address like 00:16:3e:aa:bb:cc',
  language: 'a lowercase language code like en, es or pt-br',
  chain: `one of ${BITCOIN_CHAINS.join(', ')}`,
  boolean: 'true or false',
  url: 'an http:// or https:// URL',
  acmeServer: 'an https:// ACME directory URL, or "production" or "staging" (Let\'s Encrypt)',
  absPath: 'an absolute path like /etc/ssl/ca.pem (no spaces or quotes)',
  image: 'a Docker image reference like ghost:5.103.0 or registry.example.com:5000/nginx:1.27.3',
  lxdImage:
    'an LXD image: an image-server alias like images:ubuntu/jammy/cloud, or a local alias like my-base (letters, digits, ".", "_", "-", "/")',
  lxdName: 'an LXD network name like lxdbr0 (letters, digits, "-", at most 15 characters)',
  nostrPubkey: 'a nostr public key in hex (64 lowercase hex characters)',
  secret: 'a non-empty value without control characters',
} as const;

// RFC 1123 label, lowercase only: DNS is case-insensitive, but these names
// also become LXD instance names, Docker network names and paths, which are not.
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;
// Ghost runs one container per language at https://www.<domain>/<code>, and the
// code is part of Docker stack and network names, so no case or punctuation games.
const LANGUAGE = /^[a-z]{2,3}(?:-[a-z0-9]{2,8})?$/;
const NOSTR_HEX = /^[0-9a-f]{64}$/;
// [registry[:port]/]path[:tag][@sha256:digest], the grammar of docker/distribution references.
const IMAGE_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REGISTRY =
  '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?/)';
const IMAGE = new RegExp(
  `^${REGISTRY}?${IMAGE_COMPONENT}(?:/${IMAGE_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`,
);
const LXD_IMAGE = /^(?:(?:images|ubuntu):)?[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,62})$/;
// Sequences a shell would expand. ssw never runs a shell over config, so such
// a value is either an injection attempt or an operator expecting bash semantics.
const SHELL_SYNTAX = /\$\(|`|\$\{/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function isName(s: string): boolean {
  return NAME.test(s);
}

export function isDnsLabel(s: string): boolean {
  return LABEL.test(s);
}

/** A lowercase fully qualified domain name: RFC 1123 labels, at least one dot, no trailing dot. */
export function isDomainName(s: string): boolean {
  if (s.length > 253) return false;
  const labels = s.split('.');
  if (labels.length < 2 || !labels.every(isDnsLabel)) return false;
  // An all-numeric last label would make 10.0.0.1 a "domain".
  return !/^[0-9]+$/.test(labels[labels.length - 1]);
}

/** A unicast MAC address in colon notation (LXD refuses multicast addresses). */
export function isMacAddress(s: string): boolean {
  return MAC.test(s) && macUnusable(s) === undefined;
}

/**
 * Why a well-formed MAC address cannot be an instance's, as a whole "expected …" message, or undefined when it can
 * (or is not well-formed: that is a format problem, EXPECTED.mac). No network card has a multicast address (the lowest
 * bit of the first octet set, like the seeds' 11:11:11:00:00:01) or the all-zero one; the message says what to use.
 */
export function macUnusable(s: string): string | undefined {
  if (!MAC.test(s)) return undefined;
  const octets = s.toLowerCase().split(':');
  const use = (why: string) =>
    `expected a unicast MAC address, got ${JSON.stringify(s)}: ${why}. Use a locally administered unicast address instead, such as 02:${octets.slice(1).join(':')} (first octet 02), or one of LXD's 00:16:3e:xx:xx:xx, and reserve that one on your DHCP server`;
  if (parseInt(octets[0], 16) & 1)
    return use(
      `that is a multicast address (the lowest bit of its first octet, ${octets[0]}, is set), which no network card can have`,
    );
  if (octets.every((o) => o === '00')) return use("that is the all-zero address, which is no network card's address");
  return undefined;
}

export function isLanguageCode(s: string): boolean {
  return LANGUAGE.test(s);
}

export function isBitcoinChain(s: string): s is BitcoinChain {
  return (BITCOIN_CHAINS as readonly string[]).includes(s);
}

/** ACME_SERVER: Let's Encrypt by name, or any https directory URL (a private CA, a test CA). */
export function isAcmeServer(s: string): boolean {
  if (s === 'production' || s === 'staging') return true;
  if (!isHttpUrl(s)) return false;
  return new URL(s).protocol === 'https:';
}

/** A plain absolute path: it ends up in argv on a host, so nothing a reader could misread. */
export function isAbsolutePath(s: string): boolean {
  return /^\/[A-Za-z0-9._/+@-]*$/.test(s) && !s.split('/').includes('..');
}

export function isHttpUrl(s: string): boolean {
  if (/\s/.test(s)) return false;
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname.length > 0;
  } catch {
    return false;
  }
}

export function isDockerImage(s: string): boolean {
  return s.length <= 255 && IMAGE.test(s);
}

export function isLxdImageAlias(s: string): boolean {
  return LXD_IMAGE.test(s) && !s.split('/').includes('..');
}

/** An LXD network name that is also a valid Linux interface name. */
export function isLxdNetworkName(s: string): boolean {
  return /^[A-Za-z][A-Za-z0-9-]{0,14}$/.test(s);
}

export function isNostrPubkey(s: string): boolean {
  return NOSTR_HEX.test(s);
}

/** Secrets may hold almost anything, but a newline or NUL would corrupt the env files they are written to. */
export function isSecretValue(s: string): boolean {
  return s.length > 0 && !CONTROL.test(s);
}

export function hasShellSyntax(s: string): boolean {
  return SHELL_SYNTAX.test(s);
}

/**
 * Keys whose values must never appear in a message or log. NOSTR_ACCOUNT_PUBKEY
 * ends in KEY but is public by definition.
 */
export function isSecretKey(key: string): boolean {
  if (key === 'NOSTR_ACCOUNT_PUBKEY') return false;
  return /PASSWORD|PASSPHRASE|SECRET|TOKEN|KEY$/.test(key);
}

/** How a value is quoted in a message: never for secrets, shortened when long. */
export function showValue(key: string, value: string): string {
  if (isSecretKey(key)) return 'a value that is not shown because the key is secret';
  const short = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return JSON.stringify(short);
}

/**
 * Sovereign Stack's comma-separated lists (`a,b,c`); blanks around commas and empty items are dropped, as bash's
 * `${LIST//,/ }` does.
 */
export function splitList(s: string): string[] {
  return s
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** For CLI flags: returns the name, or throws a UserError (exit 2) saying what was expected. */
export function validateName(kind: string, value: string): string {
  if (!isName(value)) {
    throw new UserError(`The ${kind} name must be ${EXPECTED.name}, got ${JSON.stringify(value)}.`);
  }
  return value;
}

/** A host to reach over SSH: an IPv4/IPv6 address or a host name (one or more RFC 1123 labels). */
export function isHostAddress(s: string): boolean {
  if (isIP(s) !== 0) return !s.includes('%'); // zone ids (fe80::1%eth0) name an interface of this machine
  const labels = s.split('.');
  return s.length <= 253 && labels.every(isDnsLabel) && !/^[0-9.]+$/.test(s);
}

/** For CLI flags: returns the host (lowercased), or throws a UserError (exit 2). */
export function validateHostAddress(value: string, flag = 'HOST'): string {
  const host = value.toLowerCase();
  if (host.includes('%') && isIP(host) === 6) {
    // A zone id names an interface of this machine: it cannot be part of a workflow ID or of the host's record.
    throw new UserError(
      `${flag} ${JSON.stringify(value)} is a link-local IPv6 address with a zone id, which ssw does not support: use the host's global or unique-local IPv6 address, its IPv4 address, or a host name.`,
    );
  }
  if (!isHostAddress(host)) {
    throw new UserError(
      `${flag} must be an IP address or a host name (letters, digits, "-" and "."), got ${JSON.stringify(value)}.`,
    );
  }
  return host;
}

/** For CLI flags: returns the domain, or throws a UserError (exit 2) saying what was expected. */
export function validateDomainName(value: string, what = 'domain'): string {
  if (!isDomainName(value)) {
    throw new UserError(`The ${what} must be ${EXPECTED.domain}, got ${JSON.stringify(value)}.`);
  }
  return value;
}
