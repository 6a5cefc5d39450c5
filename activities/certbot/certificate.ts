import { X509Certificate } from 'node:crypto';
import { RENEW_WITHIN_DAYS } from '../../common/tls/plan';

/**
 * What ssw needs to know about a certificate, read from its PEM. Public
 * data only (no key material), so it may travel in workflow results.
 */
export interface CertificateInfo {
  /** Serial number, uppercase hex: changes with every issuance. */
  serial: string;
  /** SHA-256 of the DER, colon-separated hex (what `openssl x509 -fingerprint -sha256` prints). */
  fingerprint256: string;
  names: string[];
  issuer: string;
  notBefore: string; // ISO 8601
  notAfter: string; // ISO 8601
}

/** Parses the first certificate of a PEM (cert.pem or fullchain.pem). Throws on anything that is not one. */
export function parseCertificate(pem: string): CertificateInfo {
  const cert = new X509Certificate(pem);
  const names = (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  return {
    serial: cert.serialNumber.toUpperCase(),
    fingerprint256: cert.fingerprint256,
    names,
    issuer: oneLine(cert.issuer),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
  };
}

/** "C=US\nO=Let's Encrypt\nCN=R3" -> "CN=R3, O=Let's Encrypt, C=US" (most specific first, as browsers show it). */
function oneLine(dn: string): string {
  return dn.split('\n').filter(Boolean).reverse().join(', ');
}

export type RenewReason = 'missing' | 'names-changed' | 'expiring' | 'forced';

export interface RenewDecision {
  renew: boolean;
  reason: RenewReason | 'valid';
  /** Human wording for the progress line. */
  detail: string;
}

export function daysLeft(notAfterIso: string, now: Date): number {
  return Math.floor((Date.parse(notAfterIso) - now.getTime()) / 86_400_000);
}

/**
 * Whether a site's certificate must be (re)issued: it is missing, does not
 * cover exactly the names the config wants (certbot's --expand, and a removed
 * app drops its name too), expires within `withinDays`, or the operator forces it.
 */
export function renewalDecision(
  current: CertificateInfo | null,
  wanted: string[],
  now: Date,
  opts: { force?: boolean; withinDays?: number } = {},
): RenewDecision {
  if (!current) return { renew: true, reason: 'missing', detail: 'no certificate yet' };
  const have = new Set(current.names);
  const added = wanted.filter((n) => !have.has(n));
  const removed = current.names.filter((n) => !wanted.includes(n));
  if (added.length || removed.length) {
    const parts = [
      added.length ? `adds ${added.join(', ')}` : '',
      removed.length ? `drops ${removed.join(', ')}` : '',
    ].filter(Boolean);
    return { renew: true, reason: 'names-changed', detail: `the config ${parts.join(' and ')}` };
  }
  const left = daysLeft(current.notAfter, now);
  if (opts.force) return { renew: true, reason: 'forced', detail: `forced (${left} days left)` };
  const within = opts.withinDays ?? RENEW_WITHIN_DAYS;
  if (left <= within) return { renew: true, reason: 'expiring', detail: `expires in ${left} days` };
  return {
    renew: false,
    reason: 'valid',
    detail: `valid for ${left} more days (renewed within ${within} days of expiry)`,
  };
}
