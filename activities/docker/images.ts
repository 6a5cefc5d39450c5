import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/common';
import Docker from 'dockerode';
import { FailureType } from '../../common/failure-types';
import type { SsPaths } from '../../common/paths';
import { runChecked, uploadFile, withSsh, type SshTarget } from '../ssh';
import { withDocker, type DockerOverSshOptions } from './connect';

/**
 * Air-gapped images: copies Docker images from the management machine's
 * Docker into an instance's, for hosts that reach no registry. An image the
 * instance already has (same image ID) is skipped. Each image goes through a
 * tarball cached on this machine ($SS_ROOT/cache/images/<id>.tar, written
 * whole before it is used) and a resumable SFTP upload, so a retry after a
 * dropped connection sends only what is missing; the instance then loads
 * the tarball with `docker load`.
 */

export interface ImageTransfer {
  ref: string;
  id: string;
  action: 'present' | 'loaded';
  bytesSent: number;
  bytesResumed: number;
}

/** The management machine's Docker: $DOCKER_HOST (unix://...) or the default socket. */
export function localDocker(): Docker {
  const host = process.env.DOCKER_HOST;
  if (host && !host.startsWith('unix://')) {
    throw ApplicationFailure.nonRetryable(`DOCKER_HOST=${host}: ssw reads local images only from a unix socket (unix:///path)`, FailureType.Validation);
  }
  return new Docker(host ? { socketPath: host.slice('unix://'.length) } : {});
}

async function imageId(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

/** Writes `docker save ref` to the cache unless it is there; atomic, so a crash never leaves a truncated tarball in use. */
async function cachedTarball(paths: SsPaths, local: Docker, ref: string, id: string, signal?: AbortSignal): Promise<string> {
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

export async function transferImages(
  paths: SsPaths,
  target: SshTarget,
  refs: string[],
  o: DockerOverSshOptions & { signal?: AbortSignal; onProgress?: (ref: string, bytesDone: number) => void; remoteDir?: string } = {},
): Promise<ImageTransfer[]> {
  const local = localDocker();
  const remoteDir = o.remoteDir ?? '/var/tmp/ssw-images';
  const out: ImageTransfer[] = [];
  for (const ref of refs) {
    const id = await imageId(local, ref);
    if (!id) throw ApplicationFailure.nonRetryable(`Image ${ref} is not in this machine's Docker: build or pull it here first (air-gapped mode copies images from here).`, FailureType.Validation);
    const present = await withDocker(paths, target, (d) => imageId(d, ref), o);
    if (present === id) {
      out.push({ ref, id, action: 'present', bytesSent: 0, bytesResumed: 0 });
      continue;
    }
    const tarball = await cachedTarball(paths, local, ref, id, o.signal);
    const remoteTar = `${remoteDir}/${path.basename(tarball)}`;
    const sent = await withSsh(target, { hostKeys: { knownHostsFile: paths.knownHosts, mode: 'pinned' } }, async ({ client }) => {
      await runChecked(client, ['mkdir', '-p', '-m', '0700', remoteDir], { timeoutMs: 30_000 });
      const r = await uploadFile(client, tarball, remoteTar, { signal: o.signal, onProgress: (done) => o.onProgress?.(ref, done) });
      await runChecked(client, ['docker', 'load', '-i', remoteTar], { timeoutMs: 1_800_000, signal: o.signal });
      // `docker load` keeps the tags saved with the image; the tarball is no longer needed.
      await runChecked(client, ['rm', '-f', remoteTar], { timeoutMs: 30_000 });
      return r;
    });
    const loaded = await withDocker(paths, target, (d) => imageId(d, ref), o);
    if (loaded !== id) {
      throw ApplicationFailure.create({ message: `Loaded ${ref} into ${target.host}, but it reports image ${loaded ?? 'none'} instead of ${id}`, type: FailureType.CommandFailed });
    }
    out.push({ ref, id, action: 'loaded', bytesSent: sent.bytesTransferred, bytesResumed: sent.resumedFrom });
  }
  return out;
}
