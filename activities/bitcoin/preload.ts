import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { loadDeploymentConfig } from '../../common/config';
import { FailureType } from '../../common/failure-types';
import { readBtcpayHost } from '../../common/hosts/instance-record';
import type { SsPaths } from '../../common/paths';
import { chainDir } from '../../common/stacks/btcpay';
import { configured } from '../config';
import type { SshConnector } from '../ssh/connector';
import { sha256File, uploadFile } from '../ssh/sftp';
import type { SshStep } from '../ssh/step';
import { withChainHost, type ChainDirState } from './host';
import { MANIFEST_NAME, sourceFingerprint, type PreloadManifest } from './manifest';
import { listPreloadSource, PRELOAD_DIRS } from './source';

/**
 * The chain pre-load: a Bitcoin node's blocks/ and chainstate/ copied from a
 * directory on this machine into the node's chain directory on the instance
 * before the node first starts, so it only syncs what the copy lacks.
 *
 * Tens of gigabytes over one SSH connection, so everything resumes: each file
 * goes through uploadFile (a partial file continued by byte, size and sha256
 * checked before it is published), and the manifest on the instance
 * (`<chainDir>/.ssw-preload.json`, see ./manifest) records which files are
 * verified, so a retry neither re-sends nor re-hashes them. The manifest is
 * written before the first file: data without one is the node's own, and is
 * never touched.
 */

export { listPreloadSource } from './source';
export { preloadStatus, sourceFingerprint, MANIFEST_NAME } from './manifest';
export type { PreloadFile, PreloadManifest, PreloadStatus } from './manifest';

export interface PreloadOptions {
  /** The source on this machine: a stopped node's chain directory (holding blocks/ and chainstate/). */
  from: string;
  /** The chain's directory on the instance, e.g. /var/lib/docker/ssw-chain/bitcoin/regtest. */
  chainDir: string;
  /** Who the node runs as: the copied files and directories become theirs. @default root (0:0) */
  owner?: { uid: number; gid: number };
}

export interface PreloadResult {
  /** True when the chain directory already held this very pre-load, complete: nothing was looked at again. */
  skipped: boolean;
  fingerprint: string;
  files: number;
  bytes: number;
  /** Bytes this attempt put on the wire. */
  bytesSent: number;
  /** Files already on the instance, verified, that were not sent again. */
  skippedFiles: number;
  /** Bytes of partial files an earlier attempt left, continued rather than sent again. */
  resumedBytes: number;
}

export interface PreloadProgress {
  phase: 'checking' | 'uploading' | 'verifying' | 'finishing';
  file?: string;
  filesDone: number;
  files: number;
  bytesDone: number;
  bytesTotal: number;
}

/** How long verified files may go unrecorded in the manifest: what a retry may have to hash again. */
const MANIFEST_FLUSH_MS = 5_000;

/** An upload not yet published: `<dest>.ssw-partial` (complete) or `<dest>.ssw-partial.partial` (uploadFile's). */
const PARTIAL = /\.ssw-partial(\.partial)?$/;

function refused(chainDir: string, why: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `The chain directory ${chainDir} on the instance ${why}: the node has already started on its own data, or another copy was put there, and a pre-load would mix two chains, so it was refused. To pre-load anyway, stop the node and empty ${chainDir}/blocks and ${chainDir}/chainstate first; otherwise leave the node to sync on its own.`,
    FailureType.Config,
  );
}

/** Why the chain directory's data is not (only) an unfinished pre-load of ours, or undefined when it is. */
function ownDataReason(state: ChainDirState): string | undefined {
  if (state.kind === 'notdir') return 'is not a directory';
  if (state.kind !== 'dir' || !state.content || state.manifest) return undefined;
  return state.manifestProblem
    ? `holds blocks/ or chainstate/ data and an unreadable pre-load manifest (${state.manifestProblem})`
    : `holds blocks/ or chainstate/ data but no pre-load manifest (${MANIFEST_NAME})`;
}

/**
 * For the workflow, before it decides on a pre-load: whether the chain directory holds chain data that no pre-load
 * manifest accounts for (the node's own, which a pre-load refuses to touch).
 */
export async function nodeHasOwnData(step: SshStep, chainDir: string): Promise<boolean> {
  return withChainHost(
    step,
    `Checking ${chainDir}`,
    async (host) => ownDataReason(await host.inspect(chainDir)) !== undefined,
  );
}

function checkChainDir(chainDir: string): string {
  const dir = path.posix.normalize(chainDir).replace(/\/+$/, '');
  if (!path.posix.isAbsolute(dir) || dir === '' || /\n/.test(dir))
    throw ApplicationFailure.nonRetryable(
      `The chain directory ${JSON.stringify(chainDir)} must be an absolute path on the instance.`,
      FailureType.Config,
    );
  return dir;
}

/** Copies the source's blocks/ and chainstate/ into `opts.chainDir` on the instance; see the module comment. */
export async function preloadChainData(step: SshStep, opts: PreloadOptions): Promise<PreloadResult> {
  const chainDir = checkChainDir(opts.chainDir);
  const owner = opts.owner ?? { uid: 0, gid: 0 };
  const files = await step.whileQuiet(() => listPreloadSource(opts.from));
  const fingerprint = sourceFingerprint(files);
  const bytesTotal = files.reduce((n, f) => n + f.size, 0);
  const result: PreloadResult = {
    skipped: false,
    fingerprint,
    files: files.length,
    bytes: bytesTotal,
    bytesSent: 0,
    skippedFiles: 0,
    resumedBytes: 0,
  };
  let bytesDone = 0;
  let filesDone = 0;
  const beat = (phase: PreloadProgress['phase'], file?: string, fileBytes = 0): void =>
    step.progress({ phase, file, filesDone, files: files.length, bytesDone: bytesDone + fileBytes, bytesTotal });
  beat('checking');

  // (1) Whose data is there: none, an unfinished pre-load (resumed), this one finished (done), or else refused.
  return withChainHost(step, `Pre-loading chain data into ${chainDir}`, async (host) => {
    const state = await host.inspect(chainDir);
    const own = ownDataReason(state);
    if (own) throw refused(chainDir, own);
    const prior = state.kind === 'dir' ? state.manifest : undefined;
    if (prior?.complete) {
      if (prior.fingerprint === fingerprint) return { ...result, skipped: true, skippedFiles: files.length };
      throw refused(
        chainDir,
        `already holds a complete pre-load of a different source (fingerprint ${prior.fingerprint})`,
      );
    }
    const remote = state.kind === 'dir' ? await host.list(chainDir) : new Map<string, number>();
    // Files the new source lacks: partial uploads of this source stay (they are continued); those of another
    // source, and files an earlier, different pre-load wrote (its manifest lists them) are removed; anything else
    // was written by someone else.
    const wanted = new Set(files.map((f) => f.path));
    const ours = new Set(prior?.files.map((f) => f.path) ?? []);
    const sameSource = prior?.fingerprint === fingerprint;
    const stale: string[] = [];
    const foreign: string[] = [];
    for (const rel of remote.keys()) {
      if (wanted.has(rel)) continue;
      const partialOf = PARTIAL.test(rel) ? rel.replace(PARTIAL, '') : undefined;
      if (partialOf !== undefined && sameSource && wanted.has(partialOf)) continue;
      (partialOf !== undefined || ours.has(rel) ? stale : foreign).push(rel);
    }
    if (foreign.length > 0)
      throw refused(
        chainDir,
        `holds ${foreign.length} file(s) that no pre-load wrote there (e.g. ${foreign[0]}) beside an unfinished pre-load`,
      );
    // Removed while the old manifest still lists them: a crash here leaves nothing unaccounted for.
    await host.remove(stale.map((rel) => `${chainDir}/${rel}`));
    for (const rel of stale) remote.delete(rel);

    // (2) The manifest first, then each file, recording verified ones as it goes.
    const verified = new Map(sameSource ? prior.files.filter((f) => f.sha256).map((f) => [f.path, f.sha256!]) : []);
    const manifest: PreloadManifest = {
      version: 1,
      fingerprint,
      files: files.map((f) => ({ ...f })),
      complete: false,
      startedAt: sameSource ? prior.startedAt : new Date().toISOString(),
    };
    const record = (): void => {
      for (const f of manifest.files) f.sha256 = verified.get(f.path);
    };
    record();
    const dirs = new Set<string>([chainDir, ...PRELOAD_DIRS.map((d) => `${chainDir}/${d}`)]);
    for (const f of files) dirs.add(`${chainDir}/${path.posix.dirname(f.path)}`);
    await host.mkdirs([...dirs].sort(), owner);
    await host.writeManifest(chainDir, manifest);
    let flushedAt = Date.now();
    let stage = await host.stage(chainDir);
    // Staged partial files of another source would be continued as if they were a prefix of this one's.
    if (stage && prior && !sameSource) {
      await host.removeTree(stage);
      stage = await host.stage(chainDir);
    }

    for (const f of files) {
      const dest = `${chainDir}/${f.path}`;
      const local = path.join(opts.from, ...f.path.split('/'));
      const there = remote.get(f.path);
      let sha = there === f.size ? verified.get(f.path) : undefined;
      if (there === f.size && !sha) {
        // Present but not yet recorded (the manifest is flushed every few seconds): compare before sending again.
        beat('verifying', f.path);
        const [mine, theirs] = await Promise.all([step.whileQuiet(() => sha256File(local)), host.sha256(dest)]);
        if (mine === theirs) sha = mine;
      }
      if (sha) {
        result.skippedFiles++;
      } else {
        const staged = host.stagedPath(chainDir, f.path);
        const r = await uploadFile(step.client, local, staged, {
          signal: step.signal,
          whileQuiet: step.whileQuiet,
          onProgress: (done) => beat('uploading', f.path, done),
        });
        if (r.size !== f.size)
          throw ApplicationFailure.nonRetryable(
            `${local} changed size while it was pre-loaded (${f.size} bytes when listed, ${r.size} now): the source must be a stopped node's data. Stop whatever writes to ${opts.from} and run again.`,
            FailureType.Config,
          );
        await host.publish(staged, dest, owner);
        result.bytesSent += r.bytesTransferred;
        result.resumedBytes += r.skipped ? 0 : r.resumedFrom;
        sha = r.sha256;
      }
      verified.set(f.path, sha);
      bytesDone += f.size;
      filesDone++;
      beat('uploading', f.path);
      if (Date.now() - flushedAt >= MANIFEST_FLUSH_MS) {
        record();
        await host.writeManifest(chainDir, manifest);
        flushedAt = Date.now();
      }
    }

    // (3) Complete: from now on the data is the node's to grow, and a repeated pre-load is a no-op.
    beat('finishing');
    record();
    manifest.complete = true;
    manifest.completedAt = new Date().toISOString();
    await host.writeManifest(chainDir, manifest);
    if (stage) await host.removeTree(stage);
    return result;
  });
}

/**
 * The activity: `ssw up --preload-chain FROM` copies FROM (on this machine) into the deployment's node's chain
 * directory on the btcpayserver instance, before the node's first start.
 */
export function createPreloadActivities(deps: { paths: SsPaths; ssh: SshConnector }) {
  const { paths, ssh } = deps;
  async function preloadChain(remote: string, deployment: string, from: string): Promise<PreloadResult> {
    const { config, host } = configured(() => ({
      config: loadDeploymentConfig(paths, { remote, deployment }),
      host: readBtcpayHost(paths, remote, deployment),
    }));
    const dir = chainDir(config.project.bitcoinChain);
    return ssh.step(`pre-loading the chain from ${from} into ${dir} on ${host.ssh.host}`, host.ssh, {}, (s) =>
      preloadChainData(s, { from, chainDir: dir }),
    );
  }
  return { preloadChain };
}
