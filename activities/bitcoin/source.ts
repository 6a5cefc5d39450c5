import type { Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/failure-types';
import type { PreloadFile } from './manifest';

/** The directories of a Bitcoin Core chain directory that a pre-load copies (the block files and the UTXO set). */
export const PRELOAD_DIRS = ['blocks', 'chainstate'] as const;

function refuse(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, FailureType.Config);
}

/**
 * The files of a pre-load source on this machine: every regular file under
 * FROM/blocks and FROM/chainstate, relative to FROM, with its size, sorted.
 * FROM is a copy of a stopped node's chain directory (for regtest or testnet,
 * the chain's subdirectory, e.g. `~/.bitcoin/testnet3`). A symlink is followed
 * only when it stays inside FROM: one pointing elsewhere would copy files the
 * operator did not name.
 */
export async function listPreloadSource(from: string): Promise<PreloadFile[]> {
  const top = await fsp.realpath(from).catch((err: NodeJS.ErrnoException) => {
    throw refuse(
      `The chain pre-load source ${from} cannot be read (${err.code ?? err.message}). Point it at a copy of a stopped node's chain directory, the one holding blocks/ and chainstate/.`,
    );
  });
  const inside = (p: string): boolean => p === top || p.startsWith(`${top}${path.sep}`);
  const out: PreloadFile[] = [];
  const seen = new Set<string>(); // real directories walked, so a symlink loop inside FROM ends

  async function resolve(p: string, rel: string): Promise<{ real: string; stat: Stats }> {
    const real = await fsp.realpath(p);
    if (!inside(real))
      throw refuse(
        `The chain pre-load source ${from} has ${rel}, a symlink to ${real}, outside ${from}: refused, so that only what is under the source is copied. Copy the target in, or point the source at a directory that holds it.`,
      );
    return { real, stat: await fsp.stat(real) };
  }

  async function walk(dir: string, rel: string): Promise<void> {
    for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
      const childRel = `${rel}/${e.name}`;
      if (/[\n\\]/.test(e.name))
        throw refuse(`The chain pre-load source ${from} has ${JSON.stringify(childRel)}, a name ssw does not copy.`);
      const { real, stat } = await resolve(path.join(dir, e.name), childRel);
      if (stat.isDirectory()) {
        if (seen.has(real)) continue;
        seen.add(real);
        await walk(real, childRel);
      } else if (stat.isFile()) {
        out.push({ path: childRel, size: stat.size });
      } else {
        throw refuse(
          `The chain pre-load source ${from} has ${childRel}, which is neither a file nor a directory: a node's chain data holds only those.`,
        );
      }
    }
  }

  for (const sub of PRELOAD_DIRS) {
    const p = path.join(top, sub);
    const st = await fsp.lstat(p).catch(() => undefined);
    if (!st)
      throw refuse(
        `The chain pre-load source ${from} has no ${sub}/ directory: a pre-load needs both blocks/ and chainstate/ of a stopped node (copy the node's chain directory, e.g. ~/.bitcoin or ~/.bitcoin/testnet3, after stopping it).`,
      );
    const { real, stat } = await resolve(p, sub);
    if (!stat.isDirectory())
      throw refuse(
        `The chain pre-load source ${from} has ${sub}, but it is not a directory: a pre-load needs both blocks/ and chainstate/ directories of a stopped node.`,
      );
    seen.add(real);
    await walk(real, sub);
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
