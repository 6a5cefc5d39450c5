import * as crypto from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/failure-types';
import { asRoot } from '../../common/hosts';
import type { SFTPWrapper } from 'ssh2';
import type { SshStep } from '../ssh/step';
import { MANIFEST_NAME, parseManifest, type PreloadManifest } from './manifest';

/**
 * The instance's side of a chain pre-load: fixed scripts run as root (the
 * chain directory is under /var/lib/docker, which only root may enter),
 * their arguments in argv and any content on stdin. Output larger than a
 * command's output cap (a manifest of a mainnet chain lists ~20k files) is
 * read back in base64 chunks.
 *
 * Where a file is uploaded depends on who the SSH user is. Root uploads
 * beside the destination (`<dest>.ssw-partial`) and publishes it with two
 * SFTP requests (chown, rename): no command per file, which matters for the
 * ~20k files of a mainnet chain. Any other user cannot even enter
 * /var/lib/docker, so its uploads wait in a staging directory of its own
 * and each is published by a command run through sudo.
 */

const SHORT_MS = 60_000;
/** Raw bytes per chunk read back; base64 makes it 4/3 larger, under the runner's 1 MiB output cap. */
const READ_CHUNK_BYTES = 512 * 1024;

/** Prints `absent`, `notdir`, or `dir content=0|1 manifest=0|1` for the chain directory $1. */
const INSPECT_SCRIPT = `d=$1
[ -e "$d" ] || { echo absent; exit 0; }
[ -d "$d" ] || { echo notdir; exit 0; }
c=0
for s in blocks chainstate; do
  if [ -d "$d/$s" ]; then [ -z "$(ls -A -- "$d/$s")" ] || c=1
  elif [ -e "$d/$s" ] || [ -L "$d/$s" ]; then c=1; fi
done
m=0; [ -f "$d/${MANIFEST_NAME}" ] && m=1
echo "dir content=$c manifest=$m"`;

/** Prints `missing`, or `ok:` and bytes $3 bytes of file $1 from offset $2 (1-based), in base64. */
const READ_SCRIPT = `[ -f "$1" ] || { echo missing; exit 0; }
printf 'ok:'; tail -c +"$2" -- "$1" | head -c "$3" | base64 -w0`;

/** Lists the regular files under $1/blocks and $1/chainstate ("<size> <path>\\0") into a new file; prints its name. */
const LIST_SCRIPT = `out=$(mktemp) || exit 1
cd "$1" 2>/dev/null || { echo "$out"; exit 0; }
for s in blocks chainstate; do [ -d "$s" ] && find -H "$s" -type f -printf '%s %p\\0'; done > "$out" || exit 1
echo "$out"`;

/** Writes stdin to $1 through a temporary file, so the file is the old one or the whole new one. */
const WRITE_SCRIPT = 'umask 077; cat > "$1.tmp" && mv -f -- "$1.tmp" "$1"';

/** Makes the directories after $1 and gives them to the owner $1 (uid:gid). */
const DIRS_SCRIPT = 'o=$1; shift; mkdir -p -- "$@" && chown -- "$o" "$@"';

/** Makes the staging directory $1 for the SSH user $2 (uid:gid), 0700; never through a symlink someone planted. */
const STAGE_SCRIPT =
  '[ ! -L "$1" ] || { echo "$1 is a symlink" >&2; exit 1; }; mkdir -p -- "$1" && chown -- "$2" "$1" && chmod 700 -- "$1"';

/**
 * Publishes the verified staged file $1 as $2, owned by $3: through `$2.ssw-partial`, because a move from another
 * filesystem is a copy, and the node must never find a half-copied file under a real name.
 */
const PUBLISH_SCRIPT = 'chown -- "$3" "$1" && mv -f -- "$1" "$2.ssw-partial" && mv -f -- "$2.ssw-partial" "$2"';

export type ChainDirState =
  | { kind: 'absent' }
  | { kind: 'notdir' }
  | { kind: 'dir'; content: boolean; manifest?: PreloadManifest; manifestProblem?: string };

export interface Owner {
  uid: number;
  gid: number;
}

export interface ChainHost {
  user: { name: string } & Owner;
  /** True when the SSH user is root: uploads go beside their destination, see the module comment. */
  direct: boolean;
  inspect(chainDir: string): Promise<ChainDirState>;
  /** Regular files under chainDir/blocks and chainDir/chainstate: relative path → size. */
  list(chainDir: string): Promise<Map<string, number>>;
  writeManifest(chainDir: string, m: PreloadManifest): Promise<void>;
  mkdirs(dirs: string[], owner: Owner): Promise<void>;
  /** Where `dest`'s upload goes (for a user other than root: in a staging directory made by `stage`). */
  stagedPath(chainDir: string, rel: string): string;
  /** Makes the staging directory (not needed by root); returns it. */
  stage(chainDir: string): Promise<string | undefined>;
  publish(staged: string, dest: string, owner: Owner): Promise<void>;
  sha256(p: string): Promise<string>;
  remove(paths: string[]): Promise<void>;
  removeTree(p: string): Promise<void>;
  /** Closes the SFTP session publish opened, if any. */
  close(): void;
}

function sftpCall(fn: (cb: (err?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

function unexpected(what: string, out: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `Unexpected output from ${what} on the host: ${JSON.stringify(out.slice(0, 200))}`,
    FailureType.CommandFailed,
  );
}

/** Runs `fn` with the instance's side of a pre-load, closing what it opened afterwards. */
export async function withChainHost<T>(
  step: SshStep,
  purpose: string,
  fn: (host: ChainHost) => Promise<T>,
): Promise<T> {
  const host = await chainHost(step, purpose);
  try {
    return await fn(host);
  } finally {
    host.close();
  }
}

/** Who the SSH user is, and proof it may act as root (root itself, or passwordless sudo). */
async function chainHost(step: SshStep, purpose: string): Promise<ChainHost> {
  const id = await step.runChecked(['sh', '-c', 'id -un; id -u; id -g'], { timeoutMs: SHORT_MS });
  const [name = '', uidText = '', gidText = ''] = id.stdout.trim().split('\n');
  const user = { name, uid: Number(uidText), gid: Number(gidText) };
  if (!name || !Number.isInteger(user.uid) || !Number.isInteger(user.gid)) throw unexpected('id', id.stdout);
  const isRoot = user.uid === 0;
  const root = (argv: string[]): string[] => asRoot(isRoot ? 'root' : name, argv);
  if (!isRoot) {
    const r = await step.run(['sudo', '-n', 'true'], { timeoutMs: SHORT_MS });
    if (r.exitCode !== 0)
      throw ApplicationFailure.nonRetryable(
        `${purpose} needs root on the host: ${name} is not root and may not use sudo without a password there. Connect as root, or give ${name} passwordless sudo.`,
        FailureType.Privileges,
      );
  }
  const sh = (script: string, args: string[], stdin?: string) =>
    step.runChecked(root(['sh', '-c', script, 'sh', ...args]), { timeoutMs: SHORT_MS, stdin });

  let sftp: Promise<SFTPWrapper> | undefined;
  const session = (): Promise<SFTPWrapper> =>
    (sftp ??= new Promise<SFTPWrapper>((resolve, reject) =>
      step.client.sftp((err, s) => {
        if (err) return reject(err);
        s.on('error', () => undefined); // failures reach the pending request's callback
        resolve(s);
      }),
    ));
  const stagingDir = (chainDir: string): string =>
    `/var/tmp/ssw-preload-${crypto.createHash('sha256').update(chainDir).digest('hex').slice(0, 16)}`;

  async function readFile(p: string): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    for (let offset = 0; ;) {
      const r = await sh(READ_SCRIPT, [p, String(offset + 1), String(READ_CHUNK_BYTES)]);
      const out = r.stdout.trim();
      if (out === 'missing') return offset === 0 ? undefined : Buffer.concat(parts);
      if (!out.startsWith('ok:')) throw unexpected('a file read', out);
      const chunk = Buffer.from(out.slice(3), 'base64');
      parts.push(chunk);
      offset += chunk.length;
      if (chunk.length < READ_CHUNK_BYTES) return Buffer.concat(parts);
    }
  }

  return {
    user,
    direct: isRoot,
    async inspect(chainDir) {
      const out = (await sh(INSPECT_SCRIPT, [chainDir])).stdout.trim();
      if (out === 'absent' || out === 'notdir') return { kind: out };
      const m = /^dir content=([01]) manifest=([01])$/.exec(out);
      if (!m) throw unexpected('the chain directory check', out);
      const state: ChainDirState = { kind: 'dir', content: m[1] === '1' };
      if (m[2] === '1') {
        const text = await readFile(`${chainDir}/${MANIFEST_NAME}`);
        const parsed = text === undefined ? 'gone while read' : parseManifest(text.toString('utf8'));
        if (typeof parsed === 'string') state.manifestProblem = parsed;
        else state.manifest = parsed;
      }
      return state;
    },
    async list(chainDir) {
      const file = (await sh(LIST_SCRIPT, [chainDir])).stdout.trim();
      if (!file.startsWith('/')) throw unexpected('the chain file listing', file);
      try {
        const text = ((await readFile(file)) ?? Buffer.alloc(0)).toString('utf8');
        const out = new Map<string, number>();
        for (const entry of text.split('\0')) {
          if (!entry) continue;
          const sp = entry.indexOf(' ');
          out.set(entry.slice(sp + 1), Number(entry.slice(0, sp)));
        }
        return out;
      } finally {
        await step.runChecked(root(['rm', '-f', '--', file]), { timeoutMs: SHORT_MS });
      }
    },
    async writeManifest(chainDir, m) {
      await sh(WRITE_SCRIPT, [`${chainDir}/${MANIFEST_NAME}`], `${JSON.stringify(m)}\n`);
    },
    async mkdirs(dirs, owner) {
      await sh(DIRS_SCRIPT, [`${owner.uid}:${owner.gid}`, ...dirs]);
    },
    stagedPath(chainDir, rel) {
      return isRoot ? `${chainDir}/${rel}.ssw-partial` : `${stagingDir(chainDir)}/${encodeURIComponent(rel)}`;
    },
    async stage(chainDir) {
      if (isRoot) return undefined;
      const dir = stagingDir(chainDir);
      await sh(STAGE_SCRIPT, [dir, `${user.uid}:${user.gid}`]);
      return dir;
    },
    async publish(staged, dest, owner) {
      if (!isRoot) {
        await sh(PUBLISH_SCRIPT, [staged, dest, `${owner.uid}:${owner.gid}`]);
        return;
      }
      try {
        const s = await session();
        await sftpCall((cb) => s.chown(staged, owner.uid, owner.gid, cb));
        await sftpCall((cb) => s.ext_openssh_rename(staged, dest, cb));
      } catch (err) {
        throw ApplicationFailure.create({ message: `Publishing ${dest} failed: ${(err as Error).message}` });
      }
    },
    async sha256(p) {
      const { stdout } = await step.runChecked(root(['sha256sum', '--', p]), { timeoutMs: 30 * 60_000 });
      const m = /^\\?([0-9a-f]{64})\s/.exec(stdout);
      if (!m) throw unexpected('sha256sum', stdout);
      return m[1]!;
    },
    async remove(paths) {
      for (let i = 0; i < paths.length; i += 200)
        await step.runChecked(root(['rm', '-f', '--', ...paths.slice(i, i + 200)]), { timeoutMs: SHORT_MS });
    },
    async removeTree(p) {
      await step.runChecked(root(['rm', '-rf', '--', p]), { timeoutMs: SHORT_MS });
    },
    close() {
      void sftp?.then((s) => s.end()).catch(() => undefined);
    },
  };
}
