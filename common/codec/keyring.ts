import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { createPrivateFileExclusively, replacePrivateFile } from '../private-file';

/**
 * The payload encryption keys, kept only on the management machine at
 * $SS_ROOT/keys/payload.key. One key per line, `<id> <base64 key>`; the
 * first line encrypts, every line decrypts, so a rotated-out key still
 * reads old histories. The id is derived from the key (a hash prefix) so it
 * can sit in payload metadata without revealing anything usable.
 */
export interface PayloadKey {
  id: string;
  key: Buffer; // 32 bytes, AES-256
}

export interface Keyring {
  current: PayloadKey;
  all: Map<string, PayloadKey>;
}

const HEADER =
  '# ssw payload encryption keys. The first key encrypts new payloads; every key decrypts.\n' +
  '# Never share or commit this file: anyone holding it can read every workflow input and result.\n';

export function keyIdOf(key: Buffer): string {
  return 'k' + crypto.createHash('sha256').update('ssw-payload-key-id').update(key).digest('hex').slice(0, 15);
}

export function newPayloadKey(): PayloadKey {
  const key = crypto.randomBytes(32);
  return { id: keyIdOf(key), key };
}

export function parseKeyring(text: string, file: string): Keyring {
  const keys: PayloadKey[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [id, b64, extra] = line.split(/\s+/);
    const key = b64 ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
    if (!id || extra !== undefined || key.length !== 32 || keyIdOf(key) !== id) {
      // Never echo the line: it holds key material.
      throw new UserError(`${file}:${i + 1}: not a valid payload key line (expected "<id> <base64 of 32 bytes>").`);
    }
    keys.push({ id, key });
  });
  if (keys.length === 0) throw new UserError(`${file} holds no payload key.`);
  return { current: keys[0], all: new Map(keys.map((k) => [k.id, k])) };
}

function formatKeyring(keys: PayloadKey[]): string {
  return HEADER + keys.map((k) => `${k.id} ${k.key.toString('base64')}\n`).join('');
}

function checkPermissions(file: string): void {
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) {
    throw new UserError(`${file} is readable by other users (mode ${mode.toString(8)}). Run: chmod 600 ${file}`);
  }
}

/** Loads the keyring, generating the first key when the file does not exist yet. */
export function loadOrCreateKeyring(file: string): Keyring {
  if (!fs.existsSync(file)) createPrivateFileExclusively(file, formatKeyring([newPayloadKey()]));
  checkPermissions(file);
  return parseKeyring(fs.readFileSync(file, 'utf8'), file);
}

/**
 * Puts a fresh key first; old keys stay so existing histories remain
 * readable. Returns the new key id. A lock file keeps two rotations from
 * dropping each other's key.
 */
export function rotateKeyring(file: string): string {
  const lock = `${file}.lock`;
  let lockFd: number;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    lockFd = fs.openSync(lock, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new UserError(
      `Another key rotation holds ${lock}. If no ssw process is rotating keys, remove that file and run again.`,
    );
  }
  try {
    const ring = loadOrCreateKeyring(file);
    const fresh = newPayloadKey();
    replacePrivateFile(file, formatKeyring([fresh, ...ring.all.values()]));
    return fresh.id;
  } finally {
    fs.closeSync(lockFd);
    fs.rmSync(lock, { force: true });
  }
}
