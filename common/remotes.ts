import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from './errors';
import { subdirectories } from './local-dirs';
import type { SsPaths } from './paths';

/**
 * The management machine's record of a provisioned remote
 * ($SS_ROOT/remotes/NAME/remote.json, beside the operator's remote.conf):
 * how to reach it over SSH and LXD's API, and the server certificate pinned
 * when it was provisioned. Holds no secret: the client key stays in keys/.
 */
export interface RemoteRecord {
  name: string;
  ssh: { host: string; port: number; user: string; privateKeyPath?: string; useAgent?: boolean };
  backend: 'lxd' | 'incus';
  version: string;
  /** https://ip:port of the LXD/Incus API. */
  endpoint: string;
  serverCertPem: string;
  /** sha256 of the server certificate's DER, hex, as LXD shows it. */
  serverFingerprint: string;
  disk: string;
  dataPlaneInterface: string;
  /** Set when `remote add` pinned the host key on first use: `remote remove` then forgets that key type. */
  pinnedHostKeyType?: string;
  provisionedAt: string;
}

export function readRemoteRecord(paths: SsPaths, name: string): RemoteRecord | undefined {
  const file = paths.remoteRecord(name);
  if (!fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as RemoteRecord;
  } catch (err) {
    throw new UserError(`${file} is not valid JSON (${(err as Error).message}). Run "ssw remote add ${name} ..." again to rewrite it.`);
  }
}

/** Atomic (temp file + rename), so a crash never leaves half a record. */
export function writeRemoteRecord(paths: SsPaths, rec: RemoteRecord): void {
  const file = paths.remoteRecord(rec.name);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(rec, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Remotes with a remote.conf or a record, sorted. */
export function listRemoteNames(paths: SsPaths): string[] {
  return subdirectories(path.join(paths.root, 'remotes')).filter((name) => fs.existsSync(paths.remoteConf(name)) || fs.existsSync(paths.remoteRecord(name)));
}

export function currentRemote(paths: SsPaths): string | undefined {
  try {
    return fs.readFileSync(paths.currentRemoteFile, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function setCurrentRemote(paths: SsPaths, name: string | undefined): void {
  if (name === undefined) fs.rmSync(paths.currentRemoteFile, { force: true });
  else fs.writeFileSync(paths.currentRemoteFile, name + '\n', { mode: 0o600 });
}
