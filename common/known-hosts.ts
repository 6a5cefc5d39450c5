import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { replacePrivateFile } from './private-file';
import { shellQuote } from './shell-quote';

/**
 * ssw's own known_hosts file (`$SS_ROOT/known_hosts`), in OpenSSH's format so
 * an operator can read it, copy lines from `~/.ssh/known_hosts`, or point
 * `ssh -o UserKnownHostsFile=` at it.
 *
 * Supported: plain host patterns (comma-separated, `*`/`?` wildcards, `!`
 * negation), `[host]:port` for ports other than 22, and hashed hosts
 * (`|1|salt|hash`, as written by `HashKnownHosts yes`). Hashed entries are
 * matched (HMAC-SHA1 of the host name, as ssh does) but never written; lines
 * that cannot be parsed are kept on rewrite and otherwise ignored.
 * Marker lines (`@cert-authority`, `@revoked`) are skipped: ssw pins plain
 * host keys and writes no markers; a `@revoked` line therefore does not veto a
 * key here, so remove a revoked key with `forgetHostKey` instead.
 */

/** One host key line of a known_hosts file that applies to a given host. */
export interface KnownHostEntry {
  /** 1-based line number, for error messages that point the operator at it. */
  line: number;
  /** The host pattern field as written (`[127.0.0.1]:2222`, `|1|...`). */
  hosts: string;
  keyType: string;
  keyBlob: Buffer;
  /** `SHA256:...` as printed by `ssh-keygen -lf`. */
  fingerprint: string;
}

/** A parsed line: either a key line or anything else, kept verbatim. */
interface ParsedLine {
  raw: string;
  entry?: { marker?: string; hosts: string; keyType: string; keyBlob: Buffer };
}

/** `host` for port 22, `[host]:port` otherwise: the name ssh matches patterns against. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The `SHA256:` fingerprint of a public key blob: base64 of its sha256, without padding, as ssh-keygen prints it. */
export function fingerprintSha256(keyBlob: Buffer): string {
  return `SHA256:${crypto.createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH wire-format public key blob (its first string). */
export function keyTypeOfBlob(keyBlob: Buffer): string {
  if (keyBlob.length < 4) throw new Error('Malformed SSH public key blob: too short');
  const len = keyBlob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > keyBlob.length)
    throw new Error('Malformed SSH public key blob: bad key type length');
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

/** A complete known_hosts line for a key (as ssw writes it). */
export function knownHostsLine(host: string, port: number, keyBlob: Buffer): string {
  return `${knownHostsName(host, port)} ${keyTypeOfBlob(keyBlob)} ${keyBlob.toString('base64')}`;
}

function parseLine(raw: string): ParsedLine {
  const text = raw.trim();
  if (text === '' || text.startsWith('#')) return { raw };
  const fields = text.split(/\s+/);
  let marker: string | undefined;
  if (fields[0]!.startsWith('@')) marker = fields.shift();
  if (fields.length < 3) return { raw };
  const [hosts, keyType, b64] = fields as [string, string, string];
  const keyBlob = Buffer.from(b64, 'base64');
  // A line whose blob does not name the same type is corrupt: never trust it.
  try {
    if (keyTypeOfBlob(keyBlob) !== keyType) return { raw };
  } catch {
    return { raw };
  }
  return { raw, entry: { marker, hosts, keyType, keyBlob } };
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function hashedMatches(field: string, name: string): boolean {
  const parts = field.split('|'); // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2]!, 'base64');
  const expected = Buffer.from(parts[3]!, 'base64');
  const actual = crypto.createHmac('sha1', salt).update(name).digest();
  return expected.length === actual.length && crypto.timingSafeEqual(expected, actual);
}

/**
 * How a host-pattern field matches a name: 'exact' (a literal or hashed
 * match), 'wildcard' (only through `*`/`?`), or false. A negated pattern that
 * matches vetoes the whole line, as in ssh.
 */
function matchHosts(field: string, name: string): 'exact' | 'wildcard' | false {
  if (field.startsWith('|')) return hashedMatches(field, name) ? 'exact' : false;
  let result: 'exact' | 'wildcard' | false = false;
  for (const pattern of field.split(',')) {
    const negated = pattern.startsWith('!');
    const p = negated ? pattern.slice(1) : pattern;
    const wild = /[*?]/.test(p);
    const hit = wild ? globToRegExp(p).test(name) : p.toLowerCase() === name.toLowerCase();
    if (!hit) continue;
    if (negated) return false;
    if (!wild) result = 'exact';
    else if (result === false) result = 'wildcard';
  }
  return result;
}

function readLines(file: string): ParsedLine[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map(parseLine);
}

/** Parse a whole known_hosts file (missing file = no entries). Unparseable and marker lines are left out. */
export function readKnownHosts(file: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  readLines(file).forEach((l, i) => {
    if (!l.entry || l.entry.marker) return;
    const { hosts, keyType, keyBlob } = l.entry;
    out.push({ line: i + 1, hosts, keyType, keyBlob, fingerprint: fingerprintSha256(keyBlob) });
  });
  return out;
}

/** The keys pinned for `host:port` (any key type), in file order. */
export function lookupHostKeys(file: string, host: string, port: number): KnownHostEntry[] {
  const name = knownHostsName(host, port);
  return readKnownHosts(file).filter((e) => matchHosts(e.hosts, name) !== false);
}

/** Replace the file in one step: a crash or a concurrent reader never sees half a file. */
function writeAtomically(file: string, lines: string[]): void {
  replacePrivateFile(file, lines.length ? `${lines.join('\n')}\n` : '');
}

/** A different key of the same type is already pinned for the host; the operator must forget it first. */
export class HostKeyConflictError extends Error {
  override name = 'HostKeyConflictError';
  constructor(
    message: string,
    readonly existing: KnownHostEntry,
  ) {
    super(message);
  }
}

/** Result of {@link pinHostKey}. */
export interface PinResult {
  /** False when the very same key was already pinned (pinning is idempotent). */
  added: boolean;
  fingerprint: string;
  keyType: string;
}

/**
 * Pin a host key: append `[host]:port keytype base64` unless that exact key is
 * already pinned for the host.
 *
 * Refuses (throws {@link HostKeyConflictError}) when the host already has a *different* key of the same
 * type: replacing a pinned key must be a deliberate `forgetHostKey` by the
 * operator, never a side effect. A different key type is added alongside.
 * Read-modify-write is not locked across processes; pinning happens once per
 * host, from the CLI or a first connection, so a lost race only means the next
 * connection pins again.
 */
export function pinHostKey(file: string, host: string, port: number, keyBlob: Buffer): PinResult {
  const keyType = keyTypeOfBlob(keyBlob);
  const fingerprint = fingerprintSha256(keyBlob);
  const name = knownHostsName(host, port);
  const lines = readLines(file);
  for (const [i, l] of lines.entries()) {
    if (!l.entry || l.entry.marker || matchHosts(l.entry.hosts, name) === false) continue;
    if (l.entry.keyBlob.equals(keyBlob)) return { added: false, fingerprint, keyType };
    if (l.entry.keyType === keyType) {
      const existing = { line: i + 1, ...l.entry, fingerprint: fingerprintSha256(l.entry.keyBlob) };
      throw new HostKeyConflictError(
        `${file}:${i + 1} already pins a different ${keyType} key for ${name} ` +
          `(${existing.fingerprint}); refusing to pin ${fingerprint}. ` +
          `If the host was reinstalled, remove the old key first (ssh-keygen -R ${shellQuote(name)} -f ${shellQuote(file)}).`,
        existing,
      );
    }
  }
  writeAtomically(file, [...lines.map((l) => l.raw), knownHostsLine(host, port, keyBlob)]);
  return { added: true, fingerprint, keyType };
}

/**
 * Remove the keys pinned for `host:port` (only those of `keyType` when given).
 * Lines that match only through a wildcard are left alone: they were written
 * by the operator for many hosts, and forgetting one host must not unpin the
 * others; a line naming several hosts (`a,b key`) goes as a whole, as with
 * `ssh-keygen -R`. Returns how many lines were removed; the file is rewritten only
 * when something changed.
 */
export function forgetHostKey(file: string, host: string, port: number, keyType?: string): number {
  const name = knownHostsName(host, port);
  const lines = readLines(file);
  const kept = lines.filter(
    (l) =>
      !l.entry ||
      !!l.entry.marker ||
      (keyType !== undefined && l.entry.keyType !== keyType) ||
      matchHosts(l.entry.hosts, name) !== 'exact',
  );
  const removed = lines.length - kept.length;
  if (removed > 0)
    writeAtomically(
      file,
      kept.map((l) => l.raw),
    );
  return removed;
}
