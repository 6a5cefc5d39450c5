import { test, describe, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import type { Client } from 'ssh2';
import { FailureType } from '../../common/failure-types';
import { SsPaths } from '../../common/paths';
import { isFailure } from '../helpers/failures';
import { harness } from '../helpers/harness';
import { serverPidsFor, TcpRelay } from '../helpers/relay';
import { connectSsh, withSsh, type HostKeyPolicy, type SshTarget } from '../../activities/ssh/connect';
import { probeHostKey } from '../../client/first-contact';
import { fingerprintSha256, lookupHostKeys } from '../../common/known-hosts';
import { argvToCommand } from '../../common/shell-quote';
import { runChecked, runCommand } from '../../activities/ssh/run';
import { downloadFile, sha256File, uploadFile, type TransferResult } from '../../activities/ssh/sftp';
import { createSshActivities, type SshCheckResult, type SshRunResult } from '../../activities/ssh';
import { realClients } from '../../workers/clients';

const h = harness().ssh;
const hostBlob = Buffer.from(fs.readFileSync(h.hostPublicKeyPath, 'utf8').trim().split(/\s+/)[1]!, 'base64');
const hostFingerprint = fingerprintSha256(hostBlob);

let root: string;
let paths: SsPaths;
let target: SshTarget;
let pinned: HostKeyPolicy;
let client: Client;
let remoteDir: string;

/** Lines of `ps -eo args` on the host, to prove killed commands are gone. */
async function hostProcesses(): Promise<string[]> {
  return (await runChecked(client, ['ps', '-eo', 'args'])).stdout.split('\n').map((l) => l.trim());
}

async function waitGone(args: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while ((await hostProcesses()).includes(args)) {
    assert.ok(Date.now() < deadline, `"${args}" is still running on the host`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function tempFile(name: string, size: number): string {
  const p = path.join(root, name);
  fs.writeFileSync(p, crypto.randomBytes(size));
  return p;
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-ssh-it-'));
  paths = new SsPaths(root);
  fs.writeFileSync(paths.knownHosts, `${h.hostKeyLine}\n`, { mode: 0o600 });
  target = { host: h.host, port: h.port, user: h.user, privateKeyPath: h.privateKeyPath };
  pinned = { knownHostsFile: paths.knownHosts, mode: 'pinned' };
  client = (await connectSsh(target, { hostKeys: pinned })).client;
  remoteDir = (await runChecked(client, ['mktemp', '-d', '/tmp/ssw-ssh-it.XXXXXX'])).stdout.trim();
});

after(async () => {
  if (client) {
    if (remoteDir) await runCommand(client, ['rm', '-rf', '--', remoteDir]);
    client.end();
  }
  fs.rmSync(root, { recursive: true, force: true });
});

describe('running commands', () => {
  test('every argument of a tricky argv arrives exactly', async () => {
    const args = [
      'two words',
      '',
      "it's",
      '$(echo INJECTED)',
      '`echo INJECTED`',
      '$HOME',
      'a;b',
      'line1\nline2',
      '-n',
      'héllo ₿',
      '*',
      '~',
    ];
    const r = await runCommand(client, ['printf', '%s\\0', ...args]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\0').slice(0, -1), args);
  });

  test('a secret passed on stdin reaches the command but never its command line', async () => {
    const secret = `s3cret-${crypto.randomBytes(12).toString('hex')}`;
    // The script reads the secret, then lists every command line on the host while it still runs.
    const argv = ['sh', '-c', 'IFS= read -r s; printf "%s" "$s" | sha256sum; ps -eo args'];
    assert.ok(!argvToCommand(argv).includes(secret));
    const chunks: string[] = [];
    const r = await runCommand(client, argv, { stdin: `${secret}\n`, onOutput: (c) => chunks.push(c) });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(r.stdout.startsWith(crypto.createHash('sha256').update(secret).digest('hex')));
    assert.ok(!r.stdout.includes(secret), 'the secret is visible in ps');
    assert.equal(chunks.join(''), r.stdout);
  });

  test('commands that read stdin get EOF when no stdin is given', async () => {
    const r = await runCommand(client, ['cat'], { timeoutMs: 5000 });
    assert.deepEqual([r.exitCode, r.stdout], [0, '']);
  });

  test('exit codes and stderr come back as they are', async () => {
    const r = await runCommand(client, ['sh', '-c', 'echo out; echo oops >&2; exit 3']);
    assert.deepEqual(r, { exitCode: 3, stdout: 'out\n', stderr: 'oops\n' });
  });

  test('runChecked turns a non-zero exit into a non-retryable CommandFailed naming the command, status and stderr', async () => {
    await assert.rejects(
      runChecked(client, ['sh', '-c', 'echo first >&2; echo last words >&2; exit 4']),
      isFailure(FailureType.CommandFailed, true, /^sh exited with status 4/, /first\nlast words$/),
    );
  });

  test('runChecked makes the exit codes the caller names retryable', async () => {
    await assert.rejects(
      runChecked(client, ['sh', '-c', 'exit 75'], { retryableExitCodes: [75] }),
      isFailure(FailureType.CommandFailed, false, /status 75/),
    );
  });

  test('a timeout kills the command and its children on the host and fails retryably', async () => {
    const started = Date.now();
    await assert.rejects(
      runCommand(client, ['sh', '-c', 'sleep 4242 | cat; echo never'], { timeoutMs: 500 }),
      isFailure(undefined, false, /^sh was killed on the host after its 500 ms timeout$/),
    );
    assert.ok(Date.now() - started < 3000);
    await waitGone('sleep 4242');
  });

  test('a timeout that fires before the channel is open still kills the command', async () => {
    await assert.rejects(
      runCommand(client, ['sleep', '4245'], { timeoutMs: 0 }),
      isFailure(undefined, false, /timeout/),
    );
    await waitGone('sleep 4245');
  });

  test('output beyond the cap keeps its tail', async () => {
    const r = await runCommand(client, ['sh', '-c', "head -c 3000000 /dev/zero | tr '\\0' a; echo END"]);
    assert.equal(r.stdout.length, 1024 * 1024);
    assert.ok(r.stdout.endsWith('aaaEND\n'));
    assert.equal(r.stdoutTruncated, true);
  });

  test('an AbortSignal kills the command on the host and fails retryably', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    await assert.rejects(
      runCommand(client, ['sleep', '4243'], { signal: ac.signal }),
      isFailure(undefined, false, /sleep was killed on the host: cancelled/),
    );
    await waitGone('sleep 4243');
  });

  test('the connection stays usable after a killed command', async () => {
    assert.equal((await runChecked(client, ['echo', 'still here'])).stdout, 'still here\n');
  });
});

describe('host keys', () => {
  test('probeHostKey learns the key without authenticating', async () => {
    const probed = await probeHostKey(h.host, h.port);
    assert.equal(probed.fingerprint, hostFingerprint);
    assert.ok(probed.keyBlob.equals(hostBlob));
    assert.equal(probed.knownHostsLine, h.hostKeyLine.split(/\s+/).slice(0, 3).join(' '));
  });

  test('pin-on-first-use pins an unknown host and returns its fingerprint; later connections use the pin', async () => {
    const file = path.join(root, 'tofu_known_hosts');
    const first = await withSsh(
      target,
      { hostKeys: { knownHostsFile: file, mode: 'pin-on-first-use' } },
      async (c) => c.hostKey,
    );
    assert.deepEqual(first, { keyType: 'ssh-ed25519', fingerprint: hostFingerprint, newlyPinned: true });
    assert.ok(lookupHostKeys(file, h.host, h.port)[0]!.keyBlob.equals(hostBlob));
    const again = await withSsh(target, { hostKeys: { knownHostsFile: file, mode: 'pinned' } }, async (c) => c.hostKey);
    assert.equal(again.newlyPinned, false);
  });

  test('a host presenting a different key than the pinned one is refused, non-retryably, in either mode', async () => {
    const file = path.join(root, 'wrong_known_hosts');
    const otherBlob = (await import('ssh2')).utils.generateKeyPairSync('ed25519').public;
    const other = Buffer.from(otherBlob.split(' ')[1]!, 'base64');
    fs.writeFileSync(file, `# pinned earlier\n[${h.host}]:${h.port} ssh-ed25519 ${other.toString('base64')}\n`);
    for (const mode of ['pinned', 'pin-on-first-use'] as const) {
      await assert.rejects(
        connectSsh(target, { hostKeys: { knownHostsFile: file, mode } }),
        isFailure(
          FailureType.HostKeyMismatch,
          true,
          new RegExp(`for ${h.host} port ${h.port}`),
          new RegExp(`presented ssh-ed25519 ${hostFingerprint.replace(/[+/]/g, '\\$&')}`),
          new RegExp(`${fingerprintSha256(other).replace(/[+/]/g, '\\$&')} \\(${file}:2\\)`),
          /possible man-in-the-middle attack or a reinstalled host/,
        ),
      );
    }
    assert.equal(lookupHostKeys(file, h.host, h.port).length, 1, 'nothing was pinned');
  });

  test('an unknown host in pinned mode is refused with its fingerprint and how to pin it', async () => {
    const file = path.join(root, 'empty_known_hosts');
    await assert.rejects(
      connectSsh(target, { hostKeys: { knownHostsFile: file, mode: 'pinned' } }),
      isFailure(
        FailureType.HostKeyUnknown,
        true,
        new RegExp(hostFingerprint.replace(/[+/]/g, '\\$&')),
        /ssw remote add/,
        new RegExp(`\\[${h.host}\\]:${h.port} ssh-ed25519 `),
      ),
    );
    assert.ok(!fs.existsSync(file));
  });
});

describe('connection failures', () => {
  test('a closed port fails retryably, naming host and port', async () => {
    const port = await closedPort();
    await assert.rejects(
      connectSsh({ ...target, port }, { hostKeys: pinned }),
      isFailure(undefined, false, new RegExp(`127\\.0\\.0\\.1:${port}: connection refused`)),
    );
  });

  test('a port that accepts but never speaks SSH times out retryably after readyTimeoutMs', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((sock) => sockets.push(sock));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    try {
      await assert.rejects(
        connectSsh({ ...target, port }, { hostKeys: pinned, readyTimeoutMs: 300 }),
        isFailure(undefined, false, new RegExp(`Timed out after 300 ms connecting to SSH on 127\\.0\\.0\\.1:${port}`)),
      );
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test('a host that drops the connection fails retryably, naming host and port', async () => {
    const server = net.createServer((sock) => sock.resetAndDestroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    try {
      await assert.rejects(
        connectSsh({ ...target, port }, { hostKeys: pinned }),
        isFailure(undefined, false, new RegExp(`127\\.0\\.0\\.1:${port}`)),
      );
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test('a key the host does not accept fails non-retryably, naming user, host, port and key', async () => {
    const keyPath = path.join(root, 'stranger_ed25519');
    fs.writeFileSync(keyPath, (await import('ssh2')).utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
    await assert.rejects(
      connectSsh({ ...target, privateKeyPath: keyPath }, { hostKeys: pinned }),
      isFailure(FailureType.AuthFailed, true, new RegExp(`${h.user}@${h.host}:${h.port}`), new RegExp(keyPath)),
    );
  });

  test('a missing key file fails non-retryably as a secret problem', async () => {
    await assert.rejects(
      connectSsh({ ...target, privateKeyPath: path.join(root, 'nope') }, { hostKeys: pinned }),
      isFailure(FailureType.Secret, true, /Cannot read the SSH private key/),
    );
  });
});

describe('SFTP transfers', () => {
  const SIZE = 5 * 1024 * 1024 + 12345;
  let local: string;
  let localSha: string;

  before(async () => {
    local = tempFile('random.bin', SIZE);
    localSha = await sha256File(local);
  });

  test('upload then download a 5 MiB file with identical sha256', async () => {
    const remote = `${remoteDir}/up.bin`;
    const progress: number[] = [];
    const up = await uploadFile(client, local, remote, { onProgress: (d) => progress.push(d), mode: 0o640 });
    assert.deepEqual(up, { skipped: false, size: SIZE, sha256: localSha, resumedFrom: 0, bytesTransferred: SIZE });
    assert.deepEqual([progress[0], progress[progress.length - 1]], [0, SIZE]);
    assert.equal((await runChecked(client, ['stat', '-c', '%a %s', remote])).stdout.trim(), `640 ${SIZE}`);
    assert.equal((await runCommand(client, ['test', '-e', `${remote}.partial`])).exitCode, 1);

    const back = path.join(root, 'down.bin');
    const down = await downloadFile(client, remote, back);
    assert.equal(down.sha256, localSha);
    assert.equal(await sha256File(back), localSha);
    assert.ok(!fs.existsSync(`${back}.partial`));
  });

  test('an identical destination is skipped in both directions', async () => {
    const remote = `${remoteDir}/up.bin`;
    const calls: number[] = [];
    assert.equal((await uploadFile(client, local, remote, { onProgress: (d) => calls.push(d) })).skipped, true);
    assert.equal(
      (await downloadFile(client, remote, path.join(root, 'down.bin'), { onProgress: (d) => calls.push(d) })).skipped,
      true,
    );
    assert.deepEqual(calls, []);
  });

  test('an interrupted upload resumes from the partial file and transfers only the remainder', async () => {
    const remote = `${remoteDir}/resume-up.bin`;
    const ac = new AbortController();
    await assert.rejects(
      uploadFile(client, local, remote, { signal: ac.signal, onProgress: (d) => d >= 1024 * 1024 && ac.abort() }),
      isFailure(undefined, false, /stopped at \d+ of \d+ bytes: cancelled/),
    );
    const partialSize = Number((await runChecked(client, ['stat', '-c', '%s', `${remote}.partial`])).stdout);
    assert.ok(partialSize >= 1024 * 1024 && partialSize < SIZE, `partial is ${partialSize} bytes`);
    assert.equal(
      (await runCommand(client, ['test', '-e', remote])).exitCode,
      1,
      'nothing is published before the transfer completes',
    );

    const progress: number[] = [];
    const r = await uploadFile(client, local, remote, { onProgress: (d) => progress.push(d) });
    assert.equal(progress[0], partialSize);
    assert.ok(progress[0]! > 0);
    assert.deepEqual(r, {
      skipped: false,
      size: SIZE,
      sha256: localSha,
      resumedFrom: partialSize,
      bytesTransferred: SIZE - partialSize,
    });
    assert.equal((await runChecked(client, ['sha256sum', remote])).stdout.split(' ')[0], localSha);
  });

  test('an interrupted download resumes from the partial file and transfers only the remainder', async () => {
    const remote = `${remoteDir}/up.bin`;
    const dest = path.join(root, 'resume-down.bin');
    const ac = new AbortController();
    await assert.rejects(
      downloadFile(client, remote, dest, { signal: ac.signal, onProgress: (d) => d >= 1024 * 1024 && ac.abort() }),
      isFailure(undefined, false, /cancelled/),
    );
    const partialSize = fs.statSync(`${dest}.partial`).size;
    assert.ok(partialSize >= 1024 * 1024 && partialSize < SIZE);
    assert.ok(!fs.existsSync(dest));

    const progress: number[] = [];
    const r = await downloadFile(client, remote, dest, { onProgress: (d) => progress.push(d) });
    assert.equal(progress[0], partialSize);
    assert.equal(r.resumedFrom, partialSize);
    assert.equal(r.bytesTransferred, SIZE - partialSize);
    assert.equal(await sha256File(dest), localSha);
    assert.equal(fs.statSync(dest).mode & 0o777, 0o600);
  });

  test('a partial file that is not a prefix of the source is detected and discarded', async () => {
    const remote = `${remoteDir}/corrupt.bin`;
    await runChecked(client, ['sh', '-c', 'head -c 1000 /dev/zero > "$1"', 'sh', `${remote}.partial`]);
    await assert.rejects(
      uploadFile(client, local, remote),
      isFailure(undefined, false, /did not verify \(sha256 differs\)/),
    );
    assert.equal((await runCommand(client, ['test', '-e', `${remote}.partial`])).exitCode, 1);
    assert.equal((await uploadFile(client, local, remote)).resumedFrom, 0);
  });
});

describe('activities', () => {
  const activities = () => createSshActivities(realClients(paths));
  const logs: LogEntry[] = [];
  const logger = new DefaultLogger('INFO', (entry) => logs.push(entry));

  test('sshCheck reports the pinned fingerprint, OS, kernel and architecture', async () => {
    const r = (await new MockActivityEnvironment(undefined, { logger }).run(
      activities().sshCheck,
      target,
    )) as SshCheckResult;
    assert.equal(r.hostKeyFingerprint, hostFingerprint);
    const osRelease = fs.readFileSync('/etc/os-release', 'utf8'); // the harness host is this machine
    assert.match(osRelease, new RegExp(`^ID=${r.os.id}$`, 'm'));
    assert.ok(r.os.prettyName.length > 0);
    assert.equal(r.arch, os.machine());
    assert.equal(r.kernel, `${os.type()} ${os.release()}`);
  });

  test('sshRun returns output and exit code and heartbeats progress', async () => {
    const env = new MockActivityEnvironment(undefined, { logger });
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const r = (await env.run(activities().sshRun, target, ['sh', '-c', 'echo hello; exit 2'])) as SshRunResult;
    assert.deepEqual(r, { exitCode: 2, stdout: 'hello\n', stderr: '' });
    assert.deepEqual(beats[beats.length - 1], { stdout: 6, stderr: 0 });
  });

  test('cancelling sshRun kills the command and ends in CancelledFailure', async () => {
    const env = new MockActivityEnvironment(undefined, { logger });
    setTimeout(() => env.cancel(), 500);
    await assert.rejects(
      env.run(activities().sshRun, target, ['sleep', '4244']),
      (err: unknown) => err instanceof CancelledFailure,
    );
    await waitGone('sleep 4244');
  });

  test('sshRun refuses an unpinned host', async () => {
    const other = createSshActivities(realClients(new SsPaths(path.join(root, 'fresh-root'))));
    await assert.rejects(
      new MockActivityEnvironment(undefined, { logger }).run(other.sshRun, target, ['true']),
      isFailure(FailureType.HostKeyUnknown, true),
    );
  });

  test('sshUpload and sshDownload heartbeat bytesDone and log the previous attempt', async () => {
    const small = tempFile('small.bin', 700 * 1024);
    const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { bytesDone: 1234 } }, { logger });
    const beats: Array<{ bytesDone: number }> = [];
    env.on('heartbeat', (d: { bytesDone: number }) => beats.push(d));
    const up = (await env.run(activities().sshUpload, target, small, `${remoteDir}/small.bin`)) as TransferResult;
    assert.equal(up.bytesTransferred, 700 * 1024);
    assert.equal(beats[beats.length - 1]!.bytesDone, 700 * 1024);
    assert.ok(
      logs.some((l) =>
        /attempt 2, previous attempt reported 1234 bytes done; resuming from the partial file/.test(l.message),
      ),
    );
    const down = (await env.run(
      activities().sshDownload,
      target,
      `${remoteDir}/small.bin`,
      path.join(root, 'small-back.bin'),
    )) as TransferResult;
    assert.equal(down.sha256, up.sha256);
  });
});

// A connection that dies under a long step: the step must fail its attempt within its stall
// limit (not hang until the start-to-close timeout), and the next attempt resume from the partial
// file. The steps here run with a 2 s heartbeat timeout (stall limit 1.5 s); the test timeouts
// only bound a regression's hang, they assert nothing about speed.
describe('dead connections', () => {
  const activities = () => createSshActivities(realClients(paths));
  const SIZE = 48 * 1024 * 1024 + 4321; // more than loopback's socket buffers hold, so a cut lands mid-transfer
  let big: string;
  let bigSha: string;
  let relay: TcpRelay;
  const relayed = (): SshTarget => ({ ...target, port: relay.port });
  const attempt = (n: number, heartbeatTimeoutMs = 2_000) =>
    new MockActivityEnvironment({ attempt: n, heartbeatTimeoutMs }, { logger: new DefaultLogger('WARN') });

  before(async () => {
    big = tempFile('big.bin', SIZE);
    bigSha = await sha256File(big);
  });
  beforeEach(async () => {
    relay = await TcpRelay.start(h.port);
    // The relay is another address:port for the same sshd: pin the same host key there.
    fs.appendFileSync(paths.knownHosts, `[127.0.0.1]:${relay.port} ${h.hostKeyLine.split(/\s+/).slice(1).join(' ')}\n`);
  });
  afterEach(async () => {
    await relay.close();
  });

  /** Runs `fn` in the environment and cuts the connection once `beat` says so. */
  function cutWhen(
    env: MockActivityEnvironment,
    cut: () => void,
    when: (details: { bytesDone?: number; stdout?: number }) => boolean,
  ): void {
    let done = false;
    env.on('heartbeat', (d: { bytesDone?: number }) => {
      if (!done && when(d)) {
        done = true;
        cut();
      }
    });
  }

  test(
    'a download whose network is cut mid-transfer fails its attempt; the retry resumes from the partial file, byte-identical',
    { timeout: 60_000 },
    async () => {
      const remote = `${remoteDir}/dead-pull.bin`;
      await uploadFile(client, big, remote);
      const dest = path.join(root, 'dead-pull.bin');
      const first = attempt(1);
      cutWhen(
        first,
        () => relay.freeze(),
        (d) => (d.bytesDone ?? 0) > 4 * 1024 * 1024,
      );
      await assert.rejects(
        first.run(activities().sshDownload, relayed(), remote, dest),
        isFailure(FailureType.Stalled, false, /made no progress for 1\.5 s/),
      );
      const partial = fs.statSync(`${dest}.partial`).size;
      assert.ok(partial > 4 * 1024 * 1024 && partial < SIZE, `the partial file holds ${partial} bytes`);

      const second = (await attempt(2).run(activities().sshDownload, target, remote, dest)) as TransferResult;
      assert.equal(second.resumedFrom, partial);
      assert.equal(await sha256File(dest), bigSha);
    },
  );

  test(
    'an upload whose network is cut mid-transfer fails its attempt; the retry resumes from the partial file, byte-identical',
    { timeout: 60_000 },
    async () => {
      const remote = `${remoteDir}/dead-push.bin`;
      const first = attempt(1);
      cutWhen(
        first,
        () => relay.freeze(),
        (d) => (d.bytesDone ?? 0) > 4 * 1024 * 1024,
      );
      await assert.rejects(
        first.run(activities().sshUpload, relayed(), big, remote),
        isFailure(FailureType.Stalled, false, /made no progress/),
      );
      const partial = Number((await runChecked(client, ['stat', '-c', '%s', `${remote}.partial`])).stdout);
      assert.ok(partial > 0 && partial < SIZE, `the partial file holds ${partial} bytes`);

      const second = (await attempt(2).run(activities().sshUpload, target, big, remote)) as TransferResult;
      assert.equal(second.resumedFrom, partial);
      assert.equal((await runChecked(client, ['sha256sum', remote])).stdout.split(' ')[0], bigSha);
    },
  );

  test(
    'a download whose sshd is killed mid-transfer fails its attempt; the retry resumes, byte-identical',
    { timeout: 60_000 },
    async () => {
      const remote = `${remoteDir}/dead-pull.bin`;
      const dest = path.join(root, 'killed-pull.bin');
      const first = attempt(1);
      cutWhen(
        first,
        () => {
          // Exactly the sshd process(es) serving this one connection (the relay's upstream side).
          const pids = relay.upstreamPorts().flatMap((p) => serverPidsFor(h.port, p));
          assert.ok(pids.length > 0, 'found the sshd serving the connection');
          for (const pid of pids) process.kill(pid, 'SIGKILL');
        },
        (d) => (d.bytesDone ?? 0) > 4 * 1024 * 1024,
      );
      await assert.rejects(first.run(activities().sshDownload, relayed(), remote, dest), isFailure(undefined, false));
      const partial = fs.statSync(`${dest}.partial`).size;
      assert.ok(partial > 0 && partial < SIZE);
      const second = (await attempt(2).run(activities().sshDownload, target, remote, dest)) as TransferResult;
      assert.equal(second.resumedFrom, partial);
      assert.equal(await sha256File(dest), bigSha);
    },
  );

  test(
    'a silent command on a cut network fails its attempt after the stall limit; the command is not waited for',
    { timeout: 60_000 },
    async () => {
      const env = attempt(1);
      const run = env.run(activities().sshRun, relayed(), ['sh', '-c', 'echo started; exec sleep 4245']);
      cutWhen(
        env,
        () => relay.freeze(),
        (d) => (d.stdout ?? 0) > 0,
      );
      await assert.rejects(run, isFailure(FailureType.Stalled, false, /sh on 127\.0\.0\.1 made no progress/));
      await runCommand(client, ['pkill', '-KILL', '-f', '^sleep 4245$']); // on the host, by its unique argv: the cut connection could not kill it
    },
  );

  test(
    'a silent but healthy command is kept alive by the connection probe, well past the stall limit',
    { timeout: 60_000 },
    async () => {
      const env = attempt(1); // stall limit 1.5 s; the command is silent for four times that
      const r = (await env.run(activities().sshRun, target, ['sh', '-c', 'sleep 6; echo done'])) as SshRunResult;
      assert.deepEqual(r, { exitCode: 0, stdout: 'done\n', stderr: '' });
    },
  );

  test(
    'SSH keepalives drop a connection whose network is cut: a pending command fails instead of hanging',
    { timeout: 60_000 },
    async () => {
      const conn = await connectSsh(relayed(), { hostKeys: pinned, keepaliveIntervalMs: 200, keepaliveCountMax: 2 });
      try {
        const run = runCommand(conn.client, ['sh', '-c', 'echo started; exec sleep 4246'], {
          onOutput: () => relay.freeze(),
        });
        await assert.rejects(run, isFailure(undefined, false, /SSH connection lost while sh was running/));
      } finally {
        conn.client.end();
        await runCommand(client, ['pkill', '-KILL', '-f', '^sleep 4246$']);
      }
    },
  );
});
