import * as crypto from 'node:crypto';
import type { Keyring } from './keyring';

/**
 * Files encrypted at rest on the management machine (certificate backups):
 * AES-256-GCM under a key derived (HKDF) from the payload keyring for this
 * purpose only, so the same key never encrypts two kinds of data. The
 * header (JSON, authenticated as AAD) names the keyring key, so files sealed
 * before `ssw key rotate` still open.
 *
 * Layout: "SSWSEAL1" | u32 header length | header JSON | iv(12) | ciphertext | tag(16)
 */
const MAGIC = Buffer.from('SSWSEAL1');

export interface SealedHeader {
  keyId: string;
  purpose: string;
  [k: string]: unknown;
}

function purposeKey(key: Buffer, purpose: string): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', key, Buffer.alloc(0), `ssw sealed-file v1 ${purpose}`, 32));
}

export function seal(keyring: Keyring, purpose: string, plaintext: Buffer, meta: Record<string, unknown> = {}): Buffer {
  const header = Buffer.from(JSON.stringify({ ...meta, keyId: keyring.current.id, purpose }));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(header.length);
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', purposeKey(keyring.current.key, purpose), iv);
  cipher.setAAD(Buffer.concat([MAGIC, len, header]));
  return Buffer.concat([MAGIC, len, header, iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** The header alone (no key needed): what a file holds, for listings. */
export function sealedHeader(file: Buffer): SealedHeader {
  if (file.length < 12 || !file.subarray(0, 8).equals(MAGIC)) throw new Error('not an ssw sealed file');
  const n = file.readUInt32BE(8);
  return JSON.parse(file.subarray(12, 12 + n).toString('utf8')) as SealedHeader;
}

export function unseal(keyring: Keyring, purpose: string, file: Buffer): { header: SealedHeader; plaintext: Buffer } {
  const header = sealedHeader(file);
  if (header.purpose !== purpose) throw new Error(`sealed for ${header.purpose}, not ${purpose}`);
  const key = keyring.all.get(header.keyId);
  if (!key) throw new Error(`sealed with key ${header.keyId}, which is not in this machine's payload.key`);
  const start = 12 + file.readUInt32BE(8);
  const iv = file.subarray(start, start + 12);
  const tag = file.subarray(file.length - 16);
  const decipher = crypto.createDecipheriv('aes-256-gcm', purposeKey(key.key, purpose), iv);
  decipher.setAAD(file.subarray(0, start));
  decipher.setAuthTag(tag);
  return {
    header,
    plaintext: Buffer.concat([decipher.update(file.subarray(start + 12, file.length - 16)), decipher.final()]),
  };
}
