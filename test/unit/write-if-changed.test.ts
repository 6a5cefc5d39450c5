import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WRITE_IF_CHANGED } from '../../activities/docker';

/**
 * The script that writes a container's files on its instance, run by a real sh: it writes in place only when the
 * content differs, and a write that fails fails the script (it once exited 0 after a failed write, and Docker then
 * mounted a directory where nginx.conf should have been).
 */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-write-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (file: string, content: string) =>
  spawnSync('sh', ['-c', WRITE_IF_CHANGED, 'sh', file], { input: content, encoding: 'utf8' });

describe('writing a container file on the instance', () => {
  test('writes, keeps the inode when rewriting, and leaves no temporary file', () => {
    const f = path.join(dir, 'conf', 'nginx.conf');
    assert.equal(write(f, 'one\n').status, 0);
    const ino = fs.statSync(f).ino;
    assert.equal(write(f, 'two\n').status, 0);
    assert.equal(fs.readFileSync(f, 'utf8'), 'two\n');
    assert.equal(fs.statSync(f).ino, ino, 'rewritten in place: a bind mount follows the inode');
    assert.equal(write(f, 'two\n').status, 0, 'unchanged: nothing to do');
  });

  test('a file it cannot write (its directory is a file) fails the script', () => {
    fs.writeFileSync(path.join(dir, 'plain'), '');
    const r = write(path.join(dir, 'plain', 'nginx.conf'), 'x\n');
    assert.notEqual(r.status, 0, r.stderr);
  });
});
