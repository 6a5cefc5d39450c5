import * as crypto from 'node:crypto';

/**
 * The pre-load manifest, `<chainDir>/.ssw-preload.json` on the instance:
 * written before the first byte of chain data arrives and marked complete
 * after the last file is verified. It is what tells a pre-load's own files
 * (resumable) from a node's own data (never touched), and it carries the
 * sha256 of every file already verified there, so a retry does not hash
 * tens of gigabytes again. Pure: no I/O.
 */

export const MANIFEST_NAME = '.ssw-preload.json';

/** One file of the source, relative to its top directory (`blocks/blk00000.dat`). */
export interface PreloadFile {
  path: string;
  size: number;
}

/** A file as the manifest records it: with its sha256 once it is verified on the instance. */
export interface ManifestFile extends PreloadFile {
  sha256?: string;
}

export interface PreloadManifest {
  version: 1;
  /** {@link sourceFingerprint} of the source being copied. */
  fingerprint: string;
  files: ManifestFile[];
  complete: boolean;
  startedAt: string;
  completedAt?: string;
}

export type PreloadStatus =
  | { state: 'none' }
  /** A manifest that does not parse as one of ours: it proves nothing about whose the data is. */
  | { state: 'invalid'; reason: string }
  | {
      state: 'partial' | 'complete';
      fingerprint: string;
      files: number;
      bytes: number;
      verifiedFiles: number;
      verifiedBytes: number;
    };

/**
 * The identity of a source: the sha256 of its sorted paths and sizes. Content is not hashed (that would read the
 * whole chain up front); each file's content is checked when it is verified on the instance.
 */
export function sourceFingerprint(files: readonly PreloadFile[]): string {
  const h = crypto.createHash('sha256');
  for (const f of files) h.update(`${f.size} ${f.path}\n`);
  return h.digest('hex');
}

/** The manifest's text parsed and checked, or the reason it is not a manifest. */
export function parseManifest(json: string): PreloadManifest | string {
  let m: unknown;
  try {
    m = JSON.parse(json);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  const o = m as Partial<PreloadManifest>;
  if (typeof o !== 'object' || o === null) return 'not an object';
  if (o.version !== 1) return `unknown version ${JSON.stringify(o.version)}`;
  if (typeof o.fingerprint !== 'string' || !/^[0-9a-f]{64}$/.test(o.fingerprint)) return 'no fingerprint';
  if (typeof o.complete !== 'boolean') return 'no complete flag';
  if (!Array.isArray(o.files)) return 'no file list';
  for (const f of o.files as unknown[]) {
    const e = f as Partial<ManifestFile>;
    if (typeof e?.path !== 'string' || typeof e.size !== 'number') return 'a file without path or size';
    if (e.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(e.sha256)) return `a bad sha256 for ${e.path}`;
  }
  return o as PreloadManifest;
}

/** What a manifest says about the pre-load (undefined: there is none). */
export function preloadStatus(manifestJson: string | undefined): PreloadStatus {
  if (manifestJson === undefined) return { state: 'none' };
  const m = parseManifest(manifestJson);
  if (typeof m === 'string') return { state: 'invalid', reason: m };
  const verified = m.files.filter((f) => f.sha256);
  return {
    state: m.complete ? 'complete' : 'partial',
    fingerprint: m.fingerprint,
    files: m.files.length,
    bytes: m.files.reduce((n, f) => n + f.size, 0),
    verifiedFiles: verified.length,
    verifiedBytes: verified.reduce((n, f) => n + f.size, 0),
  };
}
