import * as crypto from 'node:crypto';
import { NotARegularFile, readRegularFile } from '../regular-file';

/**
 * ACME_CA_BUNDLE: the CA certificates a private ACME server's TLS chains to.
 * The file lives on this machine and is copied to the www host, so it is
 * checked before anything starts (the CLI's config check) and again where it
 * is read (the certbot activity): a regular file, at most CA_BUNDLE_MAX_BYTES,
 * holding PEM certificates and nothing else that PEM can carry (a private key
 * in it means the wrong file was named). Only the certificate blocks
 * themselves are copied, so no text around them ever leaves this machine.
 */

/** Far above any real bundle (the whole Mozilla root store is about 220 KB). */
export const CA_BUNDLE_MAX_BYTES = 1024 * 1024;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Why a path cannot be used as ACME_CA_BUNDLE; the message completes "ACME_CA_BUNDLE=<file>: …". */
export class CaBundleInvalid extends Error {
  override name = 'CaBundleInvalid';
}

/** The bundle's certificates as PEM text (one block after another), or CaBundleInvalid saying why not. */
export function readCaBundle(file: string): string {
  let data: Buffer;
  try {
    data = readRegularFile(file, CA_BUNDLE_MAX_BYTES).data;
  } catch (err) {
    if (err instanceof NotARegularFile)
      throw new CaBundleInvalid(`expected a regular file of PEM certificates, but it is ${err.found}`);
    const code = (err as NodeJS.ErrnoException).code;
    throw new CaBundleInvalid(
      code === 'ENOENT' ? 'no such file on this machine' : `cannot read it on this machine (${code ?? String(err)})`,
    );
  }
  const text = data.toString('latin1');
  const blocks: string[] = [];
  const others = new Set<string>();
  for (const m of text.matchAll(PEM_BLOCK)) {
    if (m[1] !== 'CERTIFICATE') {
      others.add(m[1]!);
      continue;
    }
    try {
      new crypto.X509Certificate(m[0]);
    } catch {
      throw new CaBundleInvalid(`certificate ${blocks.length + 1} in it is not a valid X.509 certificate`);
    }
    blocks.push(`${m[0].replace(/\r\n/g, '\n')}\n`);
  }
  // Never quote the file: it may be a key that was named by mistake.
  if (others.size > 0)
    throw new CaBundleInvalid(
      `expected only PEM certificates, but it holds ${[...others].join(', ')}; name the CA's certificate file instead`,
    );
  if (blocks.length === 0)
    throw new CaBundleInvalid('expected PEM certificates ("-----BEGIN CERTIFICATE-----"), but it holds none');
  return blocks.join('');
}
