import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/common';
import type { Client, SFTPWrapper, Stats } from 'ssh2';
import { FailureType } from '../../common/failure-types';
import { runChecked } from './run';

/**
 * Resumable file transfers over SFTP (backup archives can be gigabytes, and a
 * worker may die half-way).
 *
 * The protocol: data goes to `<dest>.partial`; a retried transfer stats that
 * file and continues from its size; at the end the size and the sha256 of the
 * whole file are checked and the partial file is renamed over the destination
 * in one step, so the destination is either the old file or the complete new
 * one. A destination that already has the same size and sha256 is left alone,
 * which makes a repeated transfer free.
 *
 * The remote sha256 comes from `sha256sum` on the host (coreutils, present on
 * every host ssw manages): one command instead of streaming the file back.
 * Paths are used as given: SFTP does not expand `~`, so pass absolute paths
 * (relative ones are relative to the login directory for both SFTP and
 * sha256sum).
 */

/**
 * Bytes per SFTP request batch: large enough to amortise round trips, small enough for frequent progress and abort
 * checks.
 */
export const CHUNK_BYTES = 256 * 1024;
/** Read requests kept in flight during a download. */
export const READ_WINDOW = 8;

export interface TransferOptions {
  /** Called once before data moves (with the resume offset, 0 for a fresh transfer) and after every chunk. */
  onProgress?(bytesDone: number, total: number): void;
  /** Stops the transfer, pending requests included; the partial file is kept for the next attempt. */
  signal?: AbortSignal;
  /**
   * Wraps the phases that move no bytes (checksums of whole files), so the caller can prove liveness otherwise (see
   * `StepProgress.whileQuiet`).
   */
  whileQuiet?<T>(fn: () => Promise<T>): Promise<T>;
  /** Permissions of the final file. The partial file is always 0600 (it may be a secret archive). @default 0o600 */
  mode?: number;
}

export interface TransferResult {
  /** True when the destination already held this exact file and nothing was transferred. */
  skipped: boolean;
  size: number;
  sha256: string;
  /** Where this attempt started (the size of a partial file left by an earlier attempt). */
  resumedFrom: number;
  /** Bytes sent or received by this attempt. */
  bytesTransferred: number;
}

// Minimal promise wrappers: ssh2's SFTP API is callback-only.
// With a signal, a request pending on a dead connection (whose answer may never
// come) rejects as soon as the signal aborts, instead of holding the transfer.
function call<T>(fn: (cb: (err: Error | undefined | null, res: T) => void) => void, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('aborted'));
    const onAbort = (): void => reject(new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    fn((err, res) => {
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(res);
    });
  });
}

async function openSftp(client: Client, signal?: AbortSignal): Promise<SFTPWrapper> {
  const sftp = await call<SFTPWrapper>((cb) => client.sftp(cb), signal);
  // A protocol error also fails every pending request through its callback;
  // without a listener the 'error' event itself would crash the worker.
  sftp.on('error', () => undefined);
  return sftp;
}

async function remoteStat(sftp: SFTPWrapper, p: string, signal?: AbortSignal): Promise<Stats | undefined> {
  try {
    return await call<Stats>((cb) => sftp.stat(p, cb), signal);
  } catch (err) {
    if ((err as { code?: number }).code === 2) return undefined; // SSH_FX_NO_SUCH_FILE
    throw err;
  }
}

async function localStat(p: string): Promise<fs.Stats | undefined> {
  try {
    return await fsp.stat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** sha256 of a local file, streamed. */
export function sha256File(p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = crypto.createHash('sha256');
    fs.createReadStream(p)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** sha256 of a file on the host, computed there by `sha256sum`. */
export async function remoteSha256(client: Client, p: string, signal?: AbortSignal): Promise<string> {
  const { stdout } = await runChecked(client, ['sha256sum', '--', p], { signal });
  // sha256sum prefixes the line with '\' when it had to escape the file name.
  const m = /^\\?([0-9a-f]{64})\s/.exec(stdout);
  if (!m) throw ApplicationFailure.nonRetryable(`Unexpected sha256sum output for ${p}`, FailureType.CommandFailed);
  return m[1]!;
}

/** Rename over an existing file atomically (posix-rename@openssh.com); plain SFTP rename refuses to overwrite. */
async function remoteReplace(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
  try {
    await call<void>((cb) => sftp.ext_openssh_rename(from, to, cb));
  } catch (err) {
    if (!/does not support/.test((err as Error).message)) throw err;
    await call<void>((cb) => sftp.unlink(to, cb)).catch(() => undefined);
    await call<void>((cb) => sftp.rename(from, to, cb));
  }
}

function aborted(what: string, done: number, total: number, signal?: AbortSignal): ApplicationFailure {
  const reason = signal?.reason as { type?: string } | undefined;
  const why = reason?.type === FailureType.Stalled ? 'no progress' : 'cancelled';
  return ApplicationFailure.create({
    message: `${what} stopped at ${done} of ${total} bytes: ${why}; the next attempt resumes from there`,
  });
}

const direct = <T>(fn: () => Promise<T>): Promise<T> => fn();

function mismatch(what: string, detail: string): ApplicationFailure {
  // The source changed under us or the partial file was not a prefix of it: start over next attempt.
  return ApplicationFailure.create({
    message: `${what} did not verify (${detail}); the partial file was removed and the next attempt starts over`,
  });
}

function describeSftpError(what: string, err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  return ApplicationFailure.create({ message: `${what} failed: ${(err as Error).message}`, cause: err as Error });
}

/**
 * Copy a local file to the host, resuming a partial upload. Idempotent: an
 * identical destination is skipped. See the module comment for the protocol.
 */
export async function uploadFile(
  client: Client,
  localPath: string,
  remotePath: string,
  opts: TransferOptions = {},
): Promise<TransferResult> {
  const what = `Upload of ${localPath} to ${remotePath}`;
  const sig = opts.signal;
  const quiet = opts.whileQuiet ?? direct;
  let position = 0;
  let total = 0;
  const st = await fsp.stat(localPath).catch((err: Error) => {
    throw ApplicationFailure.nonRetryable(
      `${what}: cannot read the local file: ${err.message}`,
      FailureType.Validation,
    );
  });
  total = st.size;
  const sha256 = await quiet(() => sha256File(localPath));
  const sftp = await openSftp(client, sig);
  try {
    const existing = await remoteStat(sftp, remotePath, sig);
    if (
      existing?.isFile() &&
      existing.size === total &&
      (await quiet(() => remoteSha256(client, remotePath, sig))) === sha256
    ) {
      return { skipped: true, size: total, sha256, resumedFrom: 0, bytesTransferred: 0 };
    }
    const partial = `${remotePath}.partial`;
    const prior = await remoteStat(sftp, partial, sig);
    // A partial larger than the source cannot be a prefix of it: start over.
    const resumedFrom = prior?.isFile() && prior.size <= total ? prior.size : 0;
    const handle = await call<Buffer>(
      (cb) => sftp.open(partial, resumedFrom > 0 ? 'r+' : 'w', { mode: 0o600 }, cb),
      sig,
    );
    position = resumedFrom;
    try {
      opts.onProgress?.(position, total);
      const stream = fs.createReadStream(localPath, { start: resumedFrom, highWaterMark: CHUNK_BYTES });
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (sig?.aborted) throw aborted(what, position, total, sig);
          await call<void>((cb) => sftp.write(handle, chunk, 0, chunk.length, position, cb), sig);
          position += chunk.length;
          opts.onProgress?.(position, total);
        }
      } finally {
        stream.destroy();
      }
      // Make the bytes durable before the rename publishes them (when the server offers fsync).
      await call<void>((cb) => sftp.ext_openssh_fsync(handle, cb), sig).catch(() => undefined);
    } finally {
      await call<void>((cb) => sftp.close(handle, cb), sig).catch(() => undefined);
    }
    const final = await remoteStat(sftp, partial, sig);
    if (final?.size !== total || (await quiet(() => remoteSha256(client, partial, sig))) !== sha256) {
      await call<void>((cb) => sftp.unlink(partial, cb), sig).catch(() => undefined);
      throw mismatch(what, final?.size !== total ? `size ${final?.size} instead of ${total}` : 'sha256 differs');
    }
    await call<void>((cb) => sftp.chmod(partial, opts.mode ?? 0o600, cb), sig);
    await remoteReplace(sftp, partial, remotePath);
    return { skipped: false, size: total, sha256, resumedFrom, bytesTransferred: position - resumedFrom };
  } catch (err) {
    if (sig?.aborted && !(err instanceof ApplicationFailure)) throw aborted(what, position, total, sig);
    throw describeSftpError(what, err);
  } finally {
    sftp.end();
  }
}

/**
 * Copy a file from the host to the management machine, resuming a partial
 * download. Idempotent: an identical destination is skipped.
 */
export async function downloadFile(
  client: Client,
  remotePath: string,
  localPath: string,
  opts: TransferOptions = {},
): Promise<TransferResult> {
  const what = `Download of ${remotePath} to ${localPath}`;
  const sig = opts.signal;
  const quiet = opts.whileQuiet ?? direct;
  let position = 0;
  let total = 0;
  const sftp = await openSftp(client, sig);
  try {
    const st = await remoteStat(sftp, remotePath, sig);
    if (!st?.isFile())
      throw ApplicationFailure.nonRetryable(`${what}: no such file on the host`, FailureType.Validation);
    total = st.size;
    const sha256 = await quiet(() => remoteSha256(client, remotePath, sig));
    const existing = await localStat(localPath);
    if (existing?.isFile() && existing.size === total && (await quiet(() => sha256File(localPath))) === sha256) {
      return { skipped: true, size: total, sha256, resumedFrom: 0, bytesTransferred: 0 };
    }
    const partial = `${localPath}.partial`;
    const prior = await localStat(partial);
    const resumedFrom = prior?.isFile() && prior.size <= total ? prior.size : 0;
    const fd = await fsp.open(partial, resumedFrom > 0 ? 'r+' : 'w', 0o600);
    position = resumedFrom;
    try {
      const handle = await call<Buffer>((cb) => sftp.open(remotePath, 'r', cb), sig);
      try {
        opts.onProgress?.(position, total);
        // Up to READ_WINDOW requests in flight (one at a time is bound by the round trip, not
        // the link), written strictly in order: the partial file never has a hole, so its
        // size stays a safe point to resume from.
        const inflight: Array<Promise<{ at: number; buf: Buffer; n: number }>> = [];
        let next = position;
        const issue = () => {
          const at = next;
          const buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, total - at));
          next += buf.length;
          const p = call<number>((cb) => sftp.read(handle, buf, 0, buf.length, at, cb), sig).then((n) => ({
            at,
            buf,
            n,
          }));
          p.catch(() => undefined); // settled later or abandoned on abort; never unhandled
          inflight.push(p);
        };
        try {
          while (inflight.length < READ_WINDOW && next < total) issue();
          while (inflight.length > 0) {
            if (sig?.aborted) throw aborted(what, position, total, sig);
            const r = await inflight.shift()!;
            if (r.n === 0) break; // the file shrank on the host; caught by the size check below
            await fd.write(r.buf, 0, r.n, r.at);
            position = r.at + r.n;
            // A short read (the server's own limit): fill the rest of this chunk before moving on.
            while (position < r.at + r.buf.length) {
              const n = await call<number>(
                (cb) => sftp.read(handle, r.buf, 0, r.at + r.buf.length - position, position, cb),
                sig,
              );
              if (n === 0) break;
              await fd.write(r.buf, 0, n, position);
              position += n;
            }
            if (position < r.at + r.buf.length) break;
            opts.onProgress?.(position, total);
            while (inflight.length < READ_WINDOW && next < total) issue();
          }
        } finally {
          inflight.length = 0;
        }
      } finally {
        await call<void>((cb) => sftp.close(handle, cb), sig).catch(() => undefined);
      }
      await fd.sync();
    } finally {
      await fd.close();
    }
    const size = (await fsp.stat(partial)).size;
    if (size !== total || (await quiet(() => sha256File(partial))) !== sha256) {
      await fsp.rm(partial, { force: true });
      throw mismatch(what, size !== total ? `size ${size} instead of ${total}` : 'sha256 differs');
    }
    await fsp.chmod(partial, opts.mode ?? 0o600);
    await fsp.rename(partial, localPath);
    return { skipped: false, size: total, sha256, resumedFrom, bytesTransferred: position - resumedFrom };
  } catch (err) {
    if (sig?.aborted && !(err instanceof ApplicationFailure)) throw aborted(what, position, total, sig);
    throw describeSftpError(what, err);
  } finally {
    sftp.end();
  }
}
