import * as fs from 'node:fs';
import { z } from 'zod';
import { UserError } from '../errors';
import type { SsPaths } from '../paths';
import { replacePrivateFile } from '../private-file';
import { DEFAULT_DATA_PATH, type WwwHost } from './index';

/**
 * The management machine's record of a deployment's instance
 * ($SS_ROOT/remotes/R/deployments/D/instances/<role>.json): how to reach it
 * over SSH and where ss keeps its data there. Written when `ssw up` creates
 * the instance, read by `ssw cert`/`ssw backup` and the services steps,
 * removed by `ssw down`. The one module that touches these files.
 */

const sshSchema = z.object({
  host: z.string().min(1),
  port: z.number().int(),
  user: z.string().min(1),
  privateKeyPath: z.string().optional(),
  useAgent: z.boolean().optional(),
});

const instanceRecordSchema = z.looseObject({
  ssh: sshSchema,
  /** ss's REMOTE_DATA_PATH on the instance. @default DEFAULT_DATA_PATH */
  dataPath: z.string().optional(),
  /** ss's REMOTE_BACKUP_PATH on the instance. @default DEFAULT_BACKUP_PATH */
  backupPath: z.string().optional(),
  /** The LXD instance it records (absent in records of older versions). */
  name: z.string().optional(),
  macAddress: z.string().optional(),
  hostKeyFingerprint: z.string().optional(),
  recordedAt: z.string().optional(),
});

export type InstanceRecord = z.infer<typeof instanceRecordSchema>;

export function instanceRecordExists(paths: SsPaths, remote: string, deployment: string, role: string): boolean {
  return fs.existsSync(paths.instanceRecord(remote, deployment, role));
}

/** The record of a deployment's instance, or undefined when there is none; a broken one is a UserError naming it. */
export function readInstanceRecord(
  paths: SsPaths,
  remote: string,
  deployment: string,
  role: string,
): InstanceRecord | undefined {
  const file = paths.instanceRecord(remote, deployment, role);
  if (!fs.existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file} is not valid JSON (${(err as Error).message}).`);
  }
  const parsed = instanceRecordSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || 'the whole record'))];
  if (fields.some((f) => f === 'the whole record' || f === 'ssh' || f.startsWith('ssh.'))) {
    throw new UserError(`${file} lacks ssh.host, ssh.port or ssh.user.`);
  }
  throw new UserError(
    `${file} is not an instance record ssw wrote: ${fields.join(', ')} ${fields.length === 1 ? 'is' : 'are'} wrong.`,
  );
}

/** Atomic (temp file + rename, 0600), so a crash never leaves half a record. */
export function writeInstanceRecord(
  paths: SsPaths,
  remote: string,
  deployment: string,
  role: string,
  rec: InstanceRecord,
): void {
  replacePrivateFile(paths.instanceRecord(remote, deployment, role), JSON.stringify(rec, null, 2) + '\n');
}

/**
 * Removes the record of `role` when it records the instance `name` (or names
 * none): returns what it said, so the caller forgets that host's key; undefined
 * when there was no such record.
 */
export function removeInstanceRecord(
  paths: SsPaths,
  remote: string,
  deployment: string,
  role: string,
  name: string,
): InstanceRecord | undefined {
  const rec = readInstanceRecord(paths, remote, deployment, role);
  if (!rec || (rec.name && rec.name !== name)) return undefined;
  fs.rmSync(paths.instanceRecord(remote, deployment, role), { force: true });
  return rec;
}

/** The www instance's SSH target and paths, from its record on this machine (a UserError naming a missing file). */
export function readWwwHost(paths: SsPaths, remote: string, deployment: string): WwwHost {
  return readInstanceHost(paths, remote, deployment, 'www');
}

/** The btcpayserver instance's, the same way. */
export function readBtcpayHost(paths: SsPaths, remote: string, deployment: string): WwwHost {
  return readInstanceHost(paths, remote, deployment, 'btcpayserver');
}

function readInstanceHost(paths: SsPaths, remote: string, deployment: string, role: string): WwwHost {
  const rec = readInstanceRecord(paths, remote, deployment, role);
  if (!rec) {
    const file = paths.instanceRecord(remote, deployment, role);
    throw new UserError(
      `Deployment ${deployment} on remote ${remote} has no ${role} instance recorded (${file} is missing). ` +
        `"ssw up --deployment ${deployment}" creates it.`,
    );
  }
  const { host, port, user, privateKeyPath, useAgent } = rec.ssh;
  return {
    ssh: { host, port, user, privateKeyPath, useAgent },
    dataPath: rec.dataPath ?? DEFAULT_DATA_PATH,
    ...(rec.backupPath ? { backupPath: rec.backupPath } : {}),
  };
}
