import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Every regular file under `dir` (relative path -> sha256), plus directories and symlinks by name: a tree's exact
 * content.
 */
export function treeDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, entry.name);
      const full = path.join(dir, r);
      if (entry.isDirectory()) {
        out[`${r}/`] = 'dir';
        walk(r);
      } else if (entry.isSymbolicLink()) out[r] = `-> ${fs.readlinkSync(full)}`;
      else out[r] = crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex');
    }
  };
  walk('');
  return out;
}

/** An app's data: text, binary (incompressible) and nested files, and a symlink. */
export function writeAppData(dir: string, binaryBytes = 256 * 1024): void {
  fs.mkdirSync(path.join(dir, 'content', 'images'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ url: 'https://example.test', n: 1 }, null, 2));
  fs.writeFileSync(path.join(dir, 'content', 'post.md'), '# Hello\n\nBitcoin only.\n'.repeat(50));
  fs.writeFileSync(path.join(dir, 'content', 'images', 'photo.bin'), crypto.randomBytes(binaryBytes));
  fs.symlinkSync('content/post.md', path.join(dir, 'latest.md'));
}
