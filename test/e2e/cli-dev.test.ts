import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LongRunning, ssw, sswAsync, startService, stopService } from '../helpers/cli';
import { harness } from '../helpers/harness';
import { tempSsRoot, waitFor } from '../helpers/temporal';

// `ssw dev` on ports of its own, as an operator would run it, then every
// command through the real CLI against it and the harness sshd.
const PORT = 27433;
const UI_PORT = 28433;
const CODEC_PORT = 28988;
const root = tempSsRoot('ssw-e2e-');
const common = ['--ss-root', root, '--temporal-address', `127.0.0.1:${PORT}`];
let dev: LongRunning;
const NO_STACK = /\n\s+at .+:\d+:\d+/;

function sshArgs(): string[] {
  const h = harness();
  return ['127.0.0.1', '--ssh-port', String(h.ssh.port), '--ssh-user', h.ssh.user, '--ssh-key', h.ssh.privateKeyPath];
}

function hostFingerprint(): string {
  return execFileSync('ssh-keygen', ['-lf', harness().ssh.hostPublicKeyPath], { encoding: 'utf8' }).split(' ')[1];
}

const workflowId = () => `check-host/127.0.0.1:${harness().ssh.port}`;

before(async () => {
  dev = await startService(
    [
      'dev',
      '--ss-root',
      root,
      '--port',
      String(PORT),
      '--ui-port',
      String(UI_PORT),
      '--codec-port',
      String(CODEC_PORT),
      '--temporal-bin',
      harness().temporal.bin,
    ],
    /Press Ctrl-C/,
  );
});

after(() => stopService(dev));

describe('ssw dev', () => {
  test('starts the Web UI with the codec endpoint, and the codec answers the UI origin', async () => {
    const settings = (await (await fetch(`http://127.0.0.1:${UI_PORT}/api/v1/settings`)).json()) as {
      Codec: { Endpoint: string };
      DisableNewsFetch?: boolean;
    };
    assert.equal(settings.Codec.Endpoint, `http://127.0.0.1:${CODEC_PORT}`);
    assert.equal(settings.DisableNewsFetch, true, 'the UI fetches no news from the internet');
    const res = await fetch(`http://127.0.0.1:${CODEC_PORT}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: `http://127.0.0.1:${UI_PORT}`, 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(res.status, 204);
  });

  test('generates the payload key with mode 0600 and never prints it', () => {
    const keyFile = path.join(root, 'keys', 'payload.key');
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    const material = fs
      .readFileSync(keyFile, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(' ')[1]);
    for (const m of material) assert.ok(!dev.output().includes(m));
  });
});

describe('ssw host check', () => {
  test('refuses an unpinned host, shows its fingerprint, and starts nothing', () => {
    const r = ssw(['host', 'check', ...sshArgs(), ...common]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /is not pinned/);
    assert.ok(r.stderr.includes(hostFingerprint()), 'the fingerprint to verify is shown');
    assert.match(r.stderr, /--pin-host-key SHA256:/);
    assert.doesNotMatch(r.stderr, NO_STACK);
    const list = ssw(['list', '--json', ...common]);
    assert.deepEqual(JSON.parse(list.stdout), []);
  });

  test('refuses a wrong --pin-host-key and pins nothing', () => {
    const r = ssw([
      'host',
      'check',
      ...sshArgs(),
      '--pin-host-key',
      'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      ...common,
    ]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not the SHA256:A+ you gave/);
    const kh = path.join(root, 'known_hosts');
    assert.ok(!fs.existsSync(kh) || !fs.readFileSync(kh, 'utf8').includes(`:${harness().ssh.port} `));
  });

  test('with Temporal unreachable, even a verified --pin-host-key pins nothing', async () => {
    const closed = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const r = ssw([
      'host',
      'check',
      ...sshArgs(),
      '--pin-host-key',
      hostFingerprint(),
      '--ss-root',
      root,
      '--temporal-address',
      `127.0.0.1:${closed}`,
    ]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`Cannot reach Temporal at 127\\.0\\.0\\.1:${closed}`));
    const kh = path.join(root, 'known_hosts');
    assert.ok(
      !fs.existsSync(kh) || !fs.readFileSync(kh, 'utf8').includes(`:${harness().ssh.port} `),
      'no known_hosts line',
    );
  });

  test('an unreachable port is a clear error and starts nothing', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const r = ssw([
      'host',
      'check',
      '127.0.0.1',
      '--ssh-port',
      String(port),
      '--ssh-key',
      harness().ssh.privateKeyPath,
      ...common,
    ]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(r.stderr, /nothing was started/);
  });

  test('invalid input is refused before any network traffic', () => {
    for (const [args, msg] of [
      [
        ['host', 'check', 'bad;host', '--ssh-key', harness().ssh.privateKeyPath],
        /HOST must be an IP address or a host name/,
      ],
      [
        ['host', 'check', '127.0.0.1', '--ssh-port', '70000', '--ssh-key', harness().ssh.privateKeyPath],
        /--ssh-port must be 1-65535/,
      ],
      [
        ['host', 'check', '127.0.0.1', '--ssh-key', '/nonexistent/key'],
        /--ssh-key \/nonexistent\/key: no readable private key/,
      ],
    ] as const) {
      const r = ssw([...args, ...common]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, msg);
    }
  });

  test('with the verified fingerprint it pins the key and runs the checkHost workflow to completion', () => {
    const r = ssw(['host', 'check', ...sshArgs(), '--pin-host-key', hostFingerprint(), ...common]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Started ${workflowId().replace(/\./g, '\\.')}`));
    assert.match(r.stdout, /ok Reach SSH with the pinned host key/);
    assert.match(r.stdout, /ok Measure free disk space/);
    assert.match(r.stdout, /Finished check-host\/.* in \d+\.\ds\./);
    assert.match(r.stdout, /Debian/);
    assert.match(fs.readFileSync(path.join(root, 'known_hosts'), 'utf8'), /^\[127\.0\.0\.1\]:\d+ ssh-ed25519 /m);
  });

  test('--json prints only the result document', () => {
    const r = ssw(['host', 'check', ...sshArgs(), '--json', ...common]);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      workflowId: string;
      result: { os: { id: string }; hostKeyFingerprint: string; tools: string[] };
    };
    assert.equal(doc.workflowId, workflowId());
    assert.equal(doc.result.os.id, 'debian');
    assert.equal(doc.result.hostKeyFingerprint, hostFingerprint());
    assert.ok(Array.isArray(doc.result.tools));
  });

  test('ssw list and ssw status show the finished operation', async () => {
    const rows = await waitFor('the run to be listed', () => {
      const parsed = JSON.parse(ssw(['list', '--json', ...common]).stdout) as { workflowId: string; status: string }[];
      return parsed.length >= 2 ? parsed : undefined;
    });
    assert.ok(rows.every((r) => r.workflowId === workflowId() && r.status === 'COMPLETED'));
    const status = ssw(['status', workflowId(), ...common]);
    assert.equal(status.status, 0);
    assert.match(status.stdout, /checkHost\s+COMPLETED/);
    const filtered = JSON.parse(
      ssw(['list', '--json', '--operation', 'check-host', '--remote', `127.0.0.1:${harness().ssh.port}`, ...common])
        .stdout,
    );
    assert.ok(filtered.length >= 2);
  });

  test('a changed host key fails the workflow at once (not retried) with a clear message', () => {
    const other = path.join(root, 'other-key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const pub = fs.readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const kh = path.join(root, 'known_hosts');
    const saved = fs.readFileSync(kh, 'utf8');
    fs.writeFileSync(kh, `[127.0.0.1]:${harness().ssh.port} ${pub}\n`);
    try {
      const r = ssw(['host', 'check', ...sshArgs(), ...common]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /SswHostKeyMismatch/);
      assert.match(r.stderr, /man-in-the-middle|reinstalled/);
      assert.doesNotMatch(r.stderr, NO_STACK);
      const hist = ssw(['status', workflowId(), '--json', ...common]);
      assert.equal(JSON.parse(hist.stdout).status, 'FAILED');
    } finally {
      fs.writeFileSync(kh, saved);
    }
  });

  test('with no worker: the CLI says so, a second identical command attaches, and ssw cancel stops it', async () => {
    const idle = ['--task-queue', `idle-${process.pid}`];
    const first = sswAsync(['host', 'check', ...sshArgs(), ...idle, ...common]);
    await waitFor(
      'the workflow to be running',
      () => {
        const s = ssw(['status', workflowId(), '--json', ...common]);
        return s.status === 0 && JSON.parse(s.stdout).status === 'RUNNING';
      },
      30000,
      200,
    );
    const second = sswAsync(['host', 'check', ...sshArgs(), ...idle, ...common]);
    const running = ssw(['status', ...common]);
    assert.match(running.stdout, new RegExp(workflowId().replace(/\./g, '\\.')));
    const cancel = ssw(['cancel', workflowId(), ...common]);
    assert.equal(cancel.status, 0, cancel.stderr);
    assert.match(cancel.stdout, /takes effect when a worker polls task queue "idle-/);
    // A worker for that queue runs the cancellation: both followers end, reporting it.
    const worker = await startService(['worker', ...idle, ...common], /Worker polling/);
    try {
      const [a, b] = await Promise.all([first, second]);
      assert.match(a.stdout, /No worker is polling task queue "idle-/);
      assert.match(b.stdout, /Already running; following/);
      for (const r of [a, b]) {
        assert.equal(r.status, 1);
        assert.match(r.stderr, /it was cancelled/);
      }
    } finally {
      worker.ctrlC();
      assert.equal(await worker.exited, 0);
    }
    assert.match(worker.output(), /Worker stopped/);
    const again = ssw(['cancel', workflowId(), ...common]);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /is not running \(it is CANCELLED\)/);
  });

  test('an unknown workflow ID is a usage error', () => {
    const r = ssw(['status', 'up/nope/nothing', ...common]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /No workflow up\/nope\/nothing/);
  });
});

describe('ssw dev shutdown', () => {
  test('Ctrl-C in the terminal stops worker, server and codec cleanly', async () => {
    dev.ctrlC();
    assert.equal(await dev.exited, 0);
    assert.match(dev.output(), /Stopped worker, Temporal server and codec server\./);
    for (const port of [PORT, UI_PORT, CODEC_PORT]) {
      const open = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      });
      assert.equal(open, false, `port ${port} closed`);
    }
  });
});
