import * as fs from 'node:fs';

/**
 * Reading a file the operator named (a config file, a CA bundle) without
 * trusting what is at that path: a FIFO would block the read forever,
 * /dev/zero would fill memory, a directory fails with EISDIR half-way
 * through a check. Only a regular file (a symlink to one is fine) of at most
 * `maxBytes` is read; anything else is a NotARegularFile naming what it is.
 */

/** The path is not a regular file, or is larger than the caller accepts. */
export class NotARegularFile extends Error {
  override name = 'NotARegularFile';
  constructor(
    readonly file: string,
    /**
     * What is there, for "expected a regular file, but it is …": "a directory", "a FIFO (named pipe)", "2.0 MB (more
     * than 1 MB)".
     */
    readonly found: string,
  ) {
    super(`${file} is ${found}`);
  }
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

const size = (n: number) =>
  n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${Math.round(n / 1024)} KiB` : `${n} bytes`;

/**
 * The file's bytes and its mode. Errors from the file system (ENOENT, EACCES)
 * are thrown as they are; a FIFO, device, directory or oversized file as NotARegularFile.
 */
export function readRegularFile(file: string, maxBytes: number): { data: Buffer; mode: number } {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. It has no effect on regular files.
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new NotARegularFile(file, kindOf(st));
    if (st.size > maxBytes)
      throw new NotARegularFile(file, `${size(st.size)}, more than the ${size(maxBytes)} accepted`);
    // Read up to maxBytes + 1, so a file that grew after fstat is still caught.
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (;;) {
      const r = fs.readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n === buf.length) break;
    }
    if (n > maxBytes) throw new NotARegularFile(file, `more than the ${size(maxBytes)} accepted`);
    return { data: buf.subarray(0, n), mode: st.mode & 0o7777 };
  } finally {
    fs.closeSync(fd);
  }
}
