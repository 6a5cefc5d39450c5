import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { Client } from 'ssh2';
import { FailureType } from '../../common/failure-types';
import { isFailure } from '../helpers/failures';
import { harness } from '../helpers/harness';
import { connectSsh, pinnedConnectOptions, type SshTarget } from '../../activities/ssh/connect';
import { runChecked, runCommand } from '../../activities/ssh/run';
import { sshStep, type SshStep } from '../../activities/ssh/step';
import {
  listPreloadSource,
  nodeHasOwnData,
  preloadChainData,
  preloadStatus,
  type PreloadOptions,
  type PreloadProgress,
  type PreloadResult,
} from '../../activities/bitcoin/preload';

const h = harness().ssh;
const MB = 1024 * 1024;

let root: string;
let knownHosts: string;
let target: SshTarget;
let client: Client;
let remoteDir: string;

/** A stopped node's chain directory, as far as a pre-load cares: block files, the block index, the UTXO set. */
function fakeChain(name: string, extra: Record<string, number> = {}): string {
  const dir = path.join(root, name);
  const files: Record<string, number> = {
    'blocks/blk00000.dat': 3 * MB,
    'blocks/blk00001.dat': 6 * MB,
    'blocks/rev00000.dat': 256 * 1024,
    'blocks/index/000005.ldb': 70_000,
    'blocks/index/CURRENT': 16,
    'blocks/index/MANIFEST-000004': 200,
    'chainstate/000007.ldb': 300_000,
    'chainstate/CURRENT': 16,
    'chainstate/LOCK': 0,
    ...extra,
  };
  for (const [rel, size] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), crypto.randomBytes(size));
  }
  return dir;
}

/** path → sha256 of every file under `dir`, on the host. */
async function remoteTree(dir: string): Promise<Record<string, string>> {
  const script =
    'cd "$1" && find . -type f -printf "%P\\n" | LC_ALL=C sort | while IFS= read -r f; do printf "%s %s\\n" "$(sha256sum < "$f" | cut -c1-64)" "$f"; done';
  const out = (await runChecked(client, ['sh', '-c', script, 'sh', dir])).stdout;
  return Object.fromEntries(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(65), l.slice(0, 64)]),
  );
}

function localTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sub of ['blocks', 'chainstate']) {
    for (const rel of fs.readdirSync(path.join(dir, sub), { recursive: true }) as string[]) {
      const p = path.join(dir, sub, rel);
      if (fs.statSync(p).isFile())
        out[`${sub}/${rel}`] = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  }
  return out;
}

async function remoteFile(p: string): Promise<string | undefined> {
  const r = await runCommand(client, ['cat', '--', p]);
  return r.exitCode === 0 ? r.stdout : undefined;
}

type Hook = (s: SshStep) => SshStep;

/** One activity attempt running the pre-load in an SSH step, as the worker would; heartbeats collected. */
function attempt(opts: PreloadOptions, o: { hook?: Hook; beats?: PreloadProgress[] } = {}): Promise<PreloadResult> {
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 4_000 }, { logger: new DefaultLogger('ERROR') });
  env.on('heartbeat', (d: PreloadProgress) => {
    if (d && typeof d === 'object' && 'bytesDone' in d) o.beats?.push(d);
  });
  return env.run(() =>
    sshStep('chain pre-load', target, pinnedConnectOptions(knownHosts), {}, (s) =>
      preloadChainData(o.hook ? o.hook(s) : s, opts),
    ),
  );
}

function inStep<T>(fn: (s: SshStep) => Promise<T>): Promise<T> {
  return new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') }).run(() =>
    sshStep('check', target, pinnedConnectOptions(knownHosts), {}, fn),
  );
}

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-preload-it-'));
  knownHosts = path.join(root, 'known_hosts');
  fs.writeFileSync(knownHosts, `${h.hostKeyLine}\n`, { mode: 0o600 });
  target = { host: h.host, port: h.port, user: h.user, privateKeyPath: h.privateKeyPath };
  client = (await connectSsh(target, pinnedConnectOptions(knownHosts))).client;
  remoteDir = (await runChecked(client, ['mktemp', '-d', '/tmp/ssw-preload-it.XXXXXX'])).stdout.trim();
});

after(async () => {
  if (client) {
    if (remoteDir) await runCommand(client, ['rm', '-rf', '--', remoteDir]);
    client.end();
  }
  fs.rmSync(root, { recursive: true, force: true });
});

describe('chain pre-load over SFTP', () => {
  test('a pre-load copies blocks/ and chainstate/ into a new chain directory, verified, owned by the node, and a second run is skipped', async () => {
    const from = fakeChain('fresh');
    const chainDir = `${remoteDir}/fresh/bitcoin/regtest`;
    const beats: PreloadProgress[] = [];
    const bytes = Object.keys(localTree(from)).reduce((n, rel) => n + fs.statSync(path.join(from, rel)).size, 0);
    assert.equal(await inStep((s) => nodeHasOwnData(s, chainDir)), false, 'nothing there yet');

    const r = await attempt({ from, chainDir, owner: { uid: 4242, gid: 4243 } }, { beats });
    assert.deepEqual(
      { ...r, fingerprint: undefined },
      {
        skipped: false,
        fingerprint: undefined,
        files: 9,
        bytes,
        bytesSent: bytes,
        skippedFiles: 0,
        resumedBytes: 0,
      },
    );
    const tree = await remoteTree(chainDir);
    const manifestSha = tree['.ssw-preload.json'];
    delete tree['.ssw-preload.json'];
    assert.ok(manifestSha, 'the manifest is there');
    assert.deepEqual(tree, localTree(from), 'the same files, the same content, and nothing else (no staging left)');
    const status = preloadStatus(await remoteFile(`${chainDir}/.ssw-preload.json`));
    assert.deepEqual(status, {
      state: 'complete',
      fingerprint: r.fingerprint,
      files: 9,
      bytes,
      verifiedFiles: 9,
      verifiedBytes: bytes,
    });
    const owners = await runChecked(client, [
      'sh',
      '-c',
      'cd "$1" && find . blocks chainstate blocks/index -maxdepth 0 -printf "%u:%g\\n"; find blocks chainstate -type f -printf "%u:%g %m\\n" | sort -u',
      'sh',
      chainDir,
    ]);
    assert.deepEqual(owners.stdout.trim().split('\n'), [
      '4242:4243',
      '4242:4243',
      '4242:4243',
      '4242:4243',
      '4242:4243 600',
    ]);
    // Progress: bytes done over the total, never backwards, ending at the total.
    assert.ok(beats.length > 5, `${beats.length} heartbeats`);
    assert.ok(beats.every((b, i) => b.bytesTotal === bytes && (i === 0 || b.bytesDone >= beats[i - 1]!.bytesDone)));
    assert.equal(beats.at(-1)!.bytesDone, bytes);

    const again = await attempt({ from, chainDir, owner: { uid: 4242, gid: 4243 } });
    assert.equal(again.skipped, true);
    assert.equal(again.bytesSent, 0);
    assert.equal(await inStep((s) => nodeHasOwnData(s, chainDir)), false, 'the data is the pre-load’s');

    // The node then grows the data; a pre-load of some other copy must not touch it.
    await assert.rejects(
      attempt({ from: fakeChain('other', { 'blocks/blk00002.dat': 1000 }), chainDir }),
      isFailure(FailureType.Config, true, /complete pre-load of a different source/, /refused/),
    );
  });

  test('a pre-load cut off mid-file resumes: verified files are not sent again, the partial file continues by byte', async (t) => {
    const from = fakeChain('cut');
    const chainDir = `${remoteDir}/cut/regtest`;
    const bytes = Object.keys(localTree(from)).reduce((n, rel) => n + fs.statSync(path.join(from, rel)).size, 0);
    let cutAt = 0;
    // The connection dies 2 MB into the second block file (the first, 3 MB, is done by then).
    const hook: Hook = (s) => ({
      ...s,
      progress(d?: unknown) {
        s.progress(d);
        const p = d as PreloadProgress | undefined;
        if (!cutAt && p?.file === 'blocks/blk00001.dat' && p.bytesDone > 5 * MB) {
          cutAt = p.bytesDone;
          s.client.destroy();
        }
      },
    });
    // Requests pending on the dead connection never answer: the step's stall limit ends the attempt, retryably.
    await assert.rejects(attempt({ from, chainDir }, { hook }), isFailure(FailureType.Stalled, false));
    assert.ok(cutAt > 5 * MB, 'the connection was cut mid-upload');
    const partial = Object.keys(await remoteTree(chainDir)).filter((rel) => rel.includes('.ssw-partial'));
    assert.deepEqual(
      partial,
      ['blocks/blk00001.dat.ssw-partial.partial'],
      'the partial file waits beside its destination',
    );
    assert.equal(preloadStatus(await remoteFile(`${chainDir}/.ssw-preload.json`)).state, 'partial');
    assert.equal(await inStep((s) => nodeHasOwnData(s, chainDir)), false, 'an unfinished pre-load is not own data');

    const r = await attempt({ from, chainDir });
    assert.equal(r.skipped, false);
    assert.ok(r.skippedFiles >= 1, `${r.skippedFiles} file(s) already there`);
    assert.ok(r.resumedBytes > 0 && r.resumedBytes <= 2 * MB + 256 * 1024, `resumed at ${r.resumedBytes}`);
    assert.ok(r.bytesSent < bytes - 3 * MB - r.resumedBytes + 1, `sent ${r.bytesSent} of ${bytes}`);
    // For the record (no timing): what the cut cost. Sent twice = what both attempts sent beyond the copy's size.
    t.diagnostic(
      `pre-load of ${bytes} bytes cut at ${cutAt}: the retry sent ${r.bytesSent}, resumed ${r.resumedBytes}`,
    );
    const tree = await remoteTree(chainDir);
    delete tree['.ssw-preload.json'];
    assert.deepEqual(tree, localTree(from));
    assert.equal(preloadStatus(await remoteFile(`${chainDir}/.ssw-preload.json`)).state, 'complete');
  });

  test('an unfinished pre-load of another source is replaced: its extra files go, its identical ones stay', async () => {
    const a = fakeChain('src-a', { 'blocks/blk00002.dat': 2 * MB });
    const chainDir = `${remoteDir}/switch/regtest`;
    let cut = false;
    const hook: Hook = (s) => ({
      ...s,
      progress(d?: unknown) {
        s.progress(d);
        if (!cut && (d as PreloadProgress | undefined)?.file === 'blocks/index/000005.ldb') {
          cut = true;
          s.client.destroy();
        }
      },
    });
    await assert.rejects(attempt({ from: a, chainDir }, { hook }), isFailure(FailureType.Stalled, false));
    // a's block files are all there by then. Source b: a's first block file, the rest new; no blk00002.
    const b = fakeChain('src-b');
    fs.copyFileSync(path.join(a, 'blocks/blk00000.dat'), path.join(b, 'blocks/blk00000.dat'));
    const r = await attempt({ from: b, chainDir });
    assert.equal(r.skippedFiles, 1, 'blk00000.dat was already there, identical');
    const tree = await remoteTree(chainDir);
    delete tree['.ssw-preload.json'];
    assert.deepEqual(tree, localTree(b));
  });

  test('a retry after the last file reuses the sha256 the manifest recorded, and hashes only files it lacks', async () => {
    const from = fakeChain('recorded');
    const chainDir = `${remoteDir}/recorded/regtest`;
    await attempt({ from, chainDir });
    // As if the attempt had died just before marking the pre-load complete, and before recording the last file.
    const m = JSON.parse((await remoteFile(`${chainDir}/.ssw-preload.json`))!) as {
      complete: boolean;
      files: Array<{ path: string; sha256?: string }>;
    };
    m.complete = false;
    delete m.files.at(-1)!.sha256;
    await runChecked(client, ['sh', '-c', 'cat > "$1"', 'sh', `${chainDir}/.ssw-preload.json`], {
      stdin: JSON.stringify(m),
    });
    const beats: PreloadProgress[] = [];
    const r = await attempt({ from, chainDir }, { beats });
    assert.equal(r.skipped, false);
    assert.equal(r.skippedFiles, 9);
    assert.equal(r.bytesSent, 0);
    assert.deepEqual(
      [...new Set(beats.filter((b) => b.phase === 'verifying').map((b) => b.file))],
      [m.files.at(-1)!.path],
      'only the unrecorded file was hashed again',
    );
    assert.equal(preloadStatus(await remoteFile(`${chainDir}/.ssw-preload.json`)).state, 'complete');
  });

  test('a chain directory whose blocks/ has data but no pre-load manifest is refused, as the node’s own', async () => {
    const chainDir = `${remoteDir}/own/regtest`;
    await runChecked(client, [
      'sh',
      '-c',
      'mkdir -p "$1/blocks" && head -c 1000 /dev/urandom > "$1/blocks/blk00000.dat"',
      'sh',
      chainDir,
    ]);
    assert.equal(await inStep((s) => nodeHasOwnData(s, chainDir)), true);
    await assert.rejects(
      attempt({ from: fakeChain('own'), chainDir }),
      isFailure(FailureType.Config, true, /has already started on its own data/, /no pre-load manifest/, /refused/),
    );
    assert.equal(await remoteFile(`${chainDir}/.ssw-preload.json`), undefined, 'nothing was written');
  });

  test('an SSH user that is neither root nor a passwordless sudoer is refused with the Privileges failure', async () => {
    const from = fakeChain('unprivileged');
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 4_000 }, { logger: new DefaultLogger('ERROR') });
    await assert.rejects(
      env.run(() =>
        sshStep('chain pre-load', { ...target, user: h.unprivilegedUser }, pinnedConnectOptions(knownHosts), {}, (s) =>
          preloadChainData(s, { from, chainDir: `${remoteDir}/unprivileged/regtest` }),
        ),
      ),
      isFailure(FailureType.Privileges, true, new RegExp(`${h.unprivilegedUser} is not root`)),
    );
  });

  test('a source without chainstate/, or with a symlink out of it, is a Config failure naming the path', async () => {
    const from = fakeChain('no-chainstate');
    fs.rmSync(path.join(from, 'chainstate'), { recursive: true });
    await assert.rejects(
      listPreloadSource(from),
      isFailure(FailureType.Config, true, new RegExp(`${from} has no chainstate/ directory`)),
    );
    await assert.rejects(
      attempt({ from, chainDir: `${remoteDir}/none/regtest` }),
      isFailure(FailureType.Config, true, /no chainstate\/ directory/),
    );
    const out = fakeChain('escape');
    fs.symlinkSync('/etc/hostname', path.join(out, 'blocks', 'blk00009.dat'));
    await assert.rejects(
      listPreloadSource(out),
      isFailure(FailureType.Config, true, /blocks\/blk00009\.dat, a symlink to \/etc\/hostname, outside/),
    );
    // A symlink that stays inside the source is followed.
    const inside = fakeChain('inside');
    fs.renameSync(path.join(inside, 'chainstate'), path.join(inside, 'chainstate.real'));
    fs.symlinkSync('chainstate.real', path.join(inside, 'chainstate'));
    assert.deepEqual(
      (await listPreloadSource(inside)).map((f) => f.path),
      [
        'blocks/blk00000.dat',
        'blocks/blk00001.dat',
        'blocks/index/000005.ldb',
        'blocks/index/CURRENT',
        'blocks/index/MANIFEST-000004',
        'blocks/rev00000.dat',
        'chainstate/000007.ldb',
        'chainstate/CURRENT',
        'chainstate/LOCK',
      ],
    );
  });
});
