import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/failure-types';
import type { SsPaths } from '../../common/paths';
import { createPrivateFileExclusively } from '../../common/private-file';

/**
 * The management machine's LXD/Incus client certificate: an ECDSA P-384 key
 * and a self-signed clientAuth certificate under $SS_ROOT/keys/, generated
 * once and reused. Remotes trust it with a trust token; the key never leaves
 * this machine, so the returned `keyPem` must never be put into a workflow
 * input, result, heartbeat or log.
 */
export interface ClientCert {
  certPem: string;
  /** Private key (PKCS#8 PEM). Secret: stays in the process that loaded it. */
  keyPem: string;
  /** SHA-256 of the certificate's DER, lowercase hex without colons: what `lxc config trust list` shows. */
  fingerprint: string;
  certFile: string;
  keyFile: string;
}

export interface ClientCertOptions {
  /**
   * Host name in the certificate's CN (`ssw@<hostname>`), so `lxc config trust list` on a remote says which machine it
   * is.
   * @default os.hostname()
   */
  hostname?: string;
}

export const CLIENT_CERT_FILE = 'lxd-client.crt';
export const CLIENT_KEY_FILE = 'lxd-client.key';
const VALID_YEARS = 10;

/** SHA-256 of a PEM certificate's DER, lowercase hex: LXD's certificate fingerprint. */
export function certFingerprint(certPem: string): string {
  return crypto.createHash('sha256').update(new crypto.X509Certificate(certPem).raw).digest('hex');
}

/**
 * Loads the client certificate, generating what is missing. Creation is
 * lock-free and safe when several processes (worker, CLI) start at once on an
 * empty $SS_ROOT: the key is published first with link(2), which fails with
 * EEXIST instead of replacing, so exactly one key wins and every process
 * re-reads it; then a certificate *for that key* is published the same way.
 * A process that loses either race discards its own candidate. A crash
 * between the two steps leaves a key without a certificate, which the next
 * call completes.
 */
export async function loadOrCreateClientCert(paths: SsPaths, options: ClientCertOptions = {}): Promise<ClientCert> {
  const dir = paths.keysDir;
  const keyFile = path.join(dir, CLIENT_KEY_FILE);
  const certFile = path.join(dir, CLIENT_CERT_FILE);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });

  if (!fs.existsSync(keyFile)) {
    const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
    createPrivateFileExclusively(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  }
  checkPrivate(keyFile);
  const keyPem = fs.readFileSync(keyFile, 'utf8');

  if (!fs.existsSync(certFile)) {
    const hostname = options.hostname ?? os.hostname();
    createPrivateFileExclusively(certFile, await selfSignedClientCert(keyPem, `ssw@${hostname}`));
  }
  const certPem = fs.readFileSync(certFile, 'utf8');
  checkPair(certPem, keyPem, certFile, keyFile);
  return { certPem, keyPem, fingerprint: certFingerprint(certPem), certFile, keyFile };
}

/** Builds a self-signed clientAuth certificate for `keyPem` (ECDSA P-384 / SHA-384, valid 10 years). */
export async function selfSignedClientCert(
  keyPem: string,
  commonName: string,
  now: Date = new Date(),
): Promise<string> {
  const x509 = loadX509();
  const subtle = crypto.webcrypto.subtle;
  const algorithm = { name: 'ECDSA', namedCurve: 'P-384' };
  const privateKeyObject = crypto.createPrivateKey(keyPem);
  const publicKeyObject = crypto.createPublicKey(privateKeyObject);
  const privateKey = await subtle.importKey(
    'pkcs8',
    privateKeyObject.export({ type: 'pkcs8', format: 'der' }),
    algorithm,
    false,
    ['sign'],
  );
  const publicKey = await subtle.importKey(
    'spki',
    publicKeyObject.export({ type: 'spki', format: 'der' }),
    algorithm,
    true,
    ['verify'],
  );

  // Backdated an hour so a remote whose clock runs a little behind ours does not see a not-yet-valid certificate.
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VALID_YEARS);
  const serial = crypto.randomBytes(16);
  serial[0] &= 0x7f; // a positive INTEGER

  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString('hex'),
      name: [{ CN: [commonName] }], // structured, so no DN escaping of the host name is needed
      notBefore,
      notAfter,
      keys: { privateKey, publicKey },
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        await x509.SubjectKeyIdentifierExtension.create(publicKey, false),
      ],
    },
    crypto.webcrypto,
  );
  return cert.toString('pem') + '\n';
}

type X509Module = typeof import('@peculiar/x509');
let x509Module: X509Module | undefined;

/**
 * Loads @peculiar/x509 on first use (only certificate creation needs it),
 * after the Reflect metadata polyfill its dependency-injection container requires.
 */
function loadX509(): X509Module {
  if (!x509Module) {
    require('reflect-metadata');
    x509Module = require('@peculiar/x509') as X509Module;
  }
  return x509Module;
}

function checkPrivate(file: string): void {
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) {
    throw ApplicationFailure.nonRetryable(
      `${file} is readable by other users (mode ${mode.toString(8)}); it holds the private key LXD remotes trust. Run: chmod 600 ${file}`,
      FailureType.Secret,
    );
  }
}

function checkPair(certPem: string, keyPem: string, certFile: string, keyFile: string): void {
  const spki = (k: crypto.KeyObject) => k.export({ type: 'spki', format: 'der' });
  let matches: boolean;
  try {
    matches = spki(crypto.createPublicKey(certPem)).equals(
      spki(crypto.createPublicKey(crypto.createPrivateKey(keyPem))),
    );
  } catch (err) {
    throw ApplicationFailure.nonRetryable(
      `${certFile} or ${keyFile} cannot be read as a certificate and key: ${(err as Error).message}`,
      FailureType.Secret,
    );
  }
  if (!matches) {
    throw ApplicationFailure.nonRetryable(
      `${certFile} does not belong to the key in ${keyFile}. Remove both files to generate a new pair; every remote must then trust the new certificate again.`,
      FailureType.Secret,
    );
  }
}
