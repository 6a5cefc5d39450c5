import * as fs from 'node:fs';
import { UserError } from './errors';

/**
 * Listing $SS_ROOT's directories (sites/, remotes/, a site's backups) without
 * tripping over what an operator or a tool left there: a stray file among the
 * site directories is skipped, and a path that should be a directory but is a
 * file is a clear error (exit 2), not ENOTDIR from deep inside a command.
 */

/** Names of the directories directly in `dir`, sorted; [] when `dir` does not exist. Symlinks to directories count. */
export function subdirectories(dir: string): string[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new UserError(`${dir}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)}).`);
  }
  if (!st.isDirectory())
    throw new UserError(
      `${dir} should be a directory, but it is a file. Move it aside; ssw keeps one directory per entry there.`,
    );
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() || (e.isSymbolicLink() && isDirectory(`${dir}/${e.name}`)))
    .map((e) => e.name)
    .sort();
}

/** Whether `p` is a directory (or a symlink to one). */
export function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
