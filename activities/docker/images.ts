import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import { FailureType } from '../../common/failure-types';
import type { SsPaths } from '../../common/paths';
import { uploadFile } from '../ssh';
import type { DockerStep } from './connect';

/**
 * Air-gapped images: copies Docker images from the management machine's
 * Docker into an instance's, for hosts that reach no registry. An image the
 * instance already has (same image ID) is skipped. Each image goes through a
 * tarball cached on this machine ($SS_ROOT/cache/images/<id>.tar, written
 * whole before it is used) and a resumable SFTP upload, so a retry after a
 * dropped connection sends only what is missing; the instance then loads
 * the tarball with `docker load`.
 *
 * It runs inside a {@link DockerStep}: the upload's bytes are its progress,
 * and the phases that move none (`docker save` here, Docker API calls and
 * `docker load` there) are quiet phases proven alive by the connection's
 * probe. A connection that dies mid-upload therefore fails the attempt
 * within the stall limit, and the retry resumes from the partial file.
 */

export interface ImageTransfer {
  ref: string;
  id: string;
  action: 'present' | 'loaded';
  bytesSent: number;
  bytesResumed: number;
}

async function imageId(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

/**
 * Writes `docker save ref` to the cache unless it is there; atomic, so a crash never leaves a truncated tarball in use.
 */
async function cachedTarball(
  paths: SsPaths,
  local: Docker,
  ref: string,
  id: string,
  signal?: AbortSignal,
): Promise<string> {
  const dir = path.join(paths.root, 'cache', 'images');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${id.replace(/^sha256:/, '')}.tar`);
  if (fs.existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    const stream = await local.getImage(ref).get();
    await pipeline(stream, fs.createWriteStream(tmp, { mode: 0o600 }), { signal });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return file;
}

export interface ImageTransferProgress {
  ref: string;
  phase: 'checking' | 'saving' | 'uploading' | 'loading';
  /** Bytes of the tarball on the instance (uploading). */
  bytesDone?: number;
}

export async function transferImages(
  paths: SsPaths,
  /** The management machine's engine, where the images come from. */
  local: Docker,
  s: DockerStep,
  refs: string[],
  o: { onProgress?: (p: ImageTransferProgress) => void; remoteDir?: string } = {},
): Promise<ImageTransfer[]> {
  const remoteDir = o.remoteDir ?? '/var/tmp/ssw-images';
  const report = (p: ImageTransferProgress): void => (o.onProgress ? o.onProgress(p) : s.progress(p));
  const out: ImageTransfer[] = [];
  for (const ref of refs) {
    report({ ref, phase: 'checking' });
    const id = await s.whileQuiet(() => imageId(local, ref));
    if (!id)
      throw ApplicationFailure.nonRetryable(
        `Image ${ref} is not in this machine's Docker: build or pull it here first (air-gapped mode copies images from here).`,
        FailureType.Validation,
      );
    const present = await s.api((d) => imageId(d, ref));
    if (present === id) {
      out.push({ ref, id, action: 'present', bytesSent: 0, bytesResumed: 0 });
      continue;
    }
    report({ ref, phase: 'saving' });
    // docker save writes nothing until it has exported the image: quiet, as far as bytes go.
    const tarball = await s.whileQuiet(() => cachedTarball(paths, local, ref, id, s.signal));
    const remoteTar = `${remoteDir}/${path.basename(tarball)}`;
    await s.runChecked(['mkdir', '-p', '-m', '0700', remoteDir], { timeoutMs: 30_000 });
    const sent = await uploadFile(s.client, tarball, remoteTar, {
      signal: s.signal,
      whileQuiet: s.whileQuiet,
      onProgress: (bytesDone) => report({ ref, phase: 'uploading', bytesDone }),
    });
    report({ ref, phase: 'loading' });
    await s.runChecked(['docker', 'load', '-i', remoteTar], { timeoutMs: 1_800_000 });
    // `docker load` keeps the tags saved with the image; the tarball is no longer needed.
    await s.runChecked(['rm', '-f', remoteTar], { timeoutMs: 30_000 });
    const loaded = await s.api((d) => imageId(d, ref));
    if (loaded !== id) {
      throw ApplicationFailure.create({
        message: `Loaded ${ref} into the instance, but it reports image ${loaded ?? 'none'} instead of ${id}`,
        type: FailureType.CommandFailed,
      });
    }
    out.push({ ref, id, action: 'loaded', bytesSent: sent.bytesTransferred, bytesResumed: sent.resumedFrom });
  }
  return out;
}
