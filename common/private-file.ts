import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Writing the management machine's private files (payload keys, the LXD
 * client key and certificate, known_hosts, records, sealed backups) so that a crash or a concurrent process can
 * never leave a torn file or two different keys: content is synced to a
 * temp file (0600) first, then published in one step.
 */

function writeSyncedTemp(file: string, content: string | Buffer): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
    fs.fsyncSync(fd); // a key lost in a power cut makes every history (or remote) unreachable
    fs.fchmodSync(fd, 0o600); // the umask may have narrowed it further; never wider
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  return tmp;
}

/** Flushes a link or rename into the directory entry itself. */
function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Publishes `text` at `file` only if nothing is there yet: link(2) fails with
 * EEXIST instead of replacing, so when several processes start together on
 * an empty $SS_ROOT exactly one wins and all use its file. Returns false
 * when another process won.
 */
export function createPrivateFileExclusively(file: string, text: string): boolean {
  const tmp = writeSyncedTemp(file, text);
  try {
    fs.linkSync(tmp, file);
    syncDir(path.dirname(file));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Replaces `file` with `content` atomically (readers see the old or the new
 * file, never a mix): the one way ssw writes a private file in place.
 */
export function replacePrivateFile(file: string, content: string | Buffer): void {
  const tmp = writeSyncedTemp(file, content);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  syncDir(path.dirname(file));
}
