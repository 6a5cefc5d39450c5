import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from './errors';
import { replacePrivateFile } from './private-file';
import { subdirectories } from './local-dirs';
import { NotARegularFile, readRegularFile } from './regular-file';
import type { SshTarget } from './hosts';
import type { SsPaths } from './paths';

/**
 * The management machine's record of a provisioned remote
 * ($SS_ROOT/remotes/NAME/remote.json, beside the operator's remote.conf):
 * how to reach it over SSH and LXD's API, and the server certificate pinned
 * when it was provisioned. Holds no secret: the client key stays in keys/.
 */
export interface RemoteRecord {
  name: string;
  ssh: SshTarget;
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

/**
 * The record of a remote, or undefined when it has none. `needs` says what the
 * caller uses: `lxd` (the default) the API endpoint and pinned certificate too,
 * `ssh` only how to reach the host. A record without what is needed is a
 * UserError (exit 2) naming the fields, before anything (a client key, a
 * connection) is made from it.
 */
export function readRemoteRecord(paths: SsPaths, name: string, needs: 'lxd' | 'ssh' = 'lxd'): RemoteRecord | undefined {
  const file = paths.remoteRecord(name);
  if (!fs.existsSync(file)) return undefined;
  const rewrite = `Run "ssw remote add ${name} HOST ..." again to rewrite it.`;
  let rec: unknown;
  try {
    rec = JSON.parse(readRegularFile(file, 1024 * 1024).data.toString('utf8'));
  } catch (err) {
    const why =
      err instanceof NotARegularFile
        ? `it is ${err.found}`
        : err instanceof SyntaxError
          ? `not valid JSON: ${err.message}`
          : `cannot read it: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
    throw new UserError(`${file} is not a remote record ssw can use (${why}). ${rewrite}`);
  }
  // Checked here, once, so no command reaches a host (or makes client keys) from a record that cannot work.
  const bad = recordProblems(rec, name, needs);
  if (bad.length > 0)
    throw new UserError(
      `${file} is not a remote record ssw wrote: ${bad.join(', ')} ${bad.length === 1 ? 'is' : 'are'} missing or wrong. ${rewrite}`,
    );
  return rec as RemoteRecord;
}

/** The fields of a record that are missing or of the wrong kind. */
function recordProblems(rec: unknown, name: string, needs: 'lxd' | 'ssh'): string[] {
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec))
    return ['the whole record (expected a JSON object)'];
  const r = rec as Record<string, unknown>;
  const ssh = (typeof r.ssh === 'object' && r.ssh !== null ? r.ssh : {}) as Record<string, unknown>;
  const str = (v: unknown) => typeof v === 'string' && v.length > 0;
  const checks: Array<[string, boolean]> = [
    ['name', r.name === name],
    ['ssh.host', str(ssh.host)],
    ['ssh.port', Number.isInteger(ssh.port) && (ssh.port as number) >= 1 && (ssh.port as number) <= 65535],
    ['ssh.user', str(ssh.user)],
    ['backend', r.backend === 'lxd' || r.backend === 'incus'],
    ['endpoint', str(r.endpoint) && /^https:\/\//.test(r.endpoint as string)],
    ['serverCertPem', str(r.serverCertPem) && (r.serverCertPem as string).includes('-----BEGIN CERTIFICATE-----')],
    ['serverFingerprint', typeof r.serverFingerprint === 'string' && /^[0-9a-f]{64}$/.test(r.serverFingerprint)],
  ];
  const lxd: Array<[string, boolean]> = needs === 'lxd' ? checks.slice(4) : [];
  return [...checks.slice(0, 4), ...lxd].filter(([, ok]) => !ok).map(([field]) => field);
}

/** The record when it is usable, else undefined: for cleanup paths that must not fail on a broken record. */
export function usableRemoteRecord(paths: SsPaths, name: string): RemoteRecord | undefined {
  try {
    return readRemoteRecord(paths, name);
  } catch {
    return undefined;
  }
}

/** Atomic (temp file + rename), so a crash never leaves half a record. */
export function writeRemoteRecord(paths: SsPaths, rec: RemoteRecord): void {
  replacePrivateFile(paths.remoteRecord(rec.name), JSON.stringify(rec, null, 2) + '\n');
}

/** Remotes with a remote.conf or a record, sorted. */
export function listRemoteNames(paths: SsPaths): string[] {
  return subdirectories(path.join(paths.root, 'remotes')).filter(
    (name) => fs.existsSync(paths.remoteConf(name)) || fs.existsSync(paths.remoteRecord(name)),
  );
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
