import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureBaseImage, BUILDER_PROPERTY } from '../../activities/deployment/base-image';
import type { LxdClient } from '../../activities/lxd/client';
import { REQUIRED_COMMANDS } from '../../common/deployment/desired';
import { pollUntil } from '../../activities/poll';
import { isFailure } from '../helpers/failures';
import { harness } from '../helpers/harness';
import { harnessLxd } from '../helpers/lxd';

// The LXD calls deployments add (exec without websockets, the files API, publishing) and the
// weekly base image build, against the harness's real LXD and its debootstrap image.
const POOL = 'ss-base';
const ALIAS = 'ss-docker-itest-w01';
const PROBE = 'ssw-itest-probe';
const BUILDER = `ssw-build-${ALIAS}-itest`;
/** Another deployment's builder of the same week's image. */
const OTHER_BUILDER = `ssw-build-${ALIAS}-itest2`;
let lxd: LxdClient;
let madePool = false;

async function removeInstance(name: string): Promise<void> {
  const i = await lxd.getInstance(name);
  if (!i) return;
  if (i.status !== 'Stopped') await lxd.setInstanceState(name, { action: 'stop', force: true, timeout: 30 });
  await lxd.deleteInstance(name);
}

async function cleanup(): Promise<void> {
  for (const name of [PROBE, BUILDER, OTHER_BUILDER, `${PROBE}-from-image`]) await removeInstance(name);
  const alias = await lxd.getImageAlias(ALIAS);
  if (alias) await lxd.deleteImage(alias.target);
}

before(async () => {
  lxd = harnessLxd();
  if (!(await lxd.getStoragePool(POOL))) {
    await lxd.createStoragePool({ name: POOL, driver: 'dir', config: {} } as never);
    madePool = true;
  }
  await cleanup();
  await lxd.createInstance({
    name: PROBE,
    type: 'container',
    profiles: [],
    devices: { root: { type: 'disk', path: '/', pool: POOL } },
    source: { type: 'image', alias: harness().lxd.baseImage },
  });
  await lxd.setInstanceState(PROBE, { action: 'start' });
});

after(async () => {
  await cleanup();
  if (madePool) await lxd.deleteStoragePool(POOL);
  lxd.close();
});

describe('LXD calls of deployments', () => {
  test('exec records exit code, stdout and stderr without a websocket', async () => {
    const r = await lxd.execInstance(PROBE, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual(r, { exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  test('files: written with owner and mode, read back; a missing file is undefined', async () => {
    await lxd.writeInstanceFile(PROBE, '/home/ubuntu/.ssh', { type: 'directory', uid: 1000, gid: 1000, mode: 0o700 });
    await lxd.writeInstanceFile(PROBE, '/home/ubuntu/.ssh/authorized_keys', {
      content: Buffer.from('ssh-ed25519 AAAA x\n'),
      uid: 1000,
      gid: 1000,
      mode: 0o600,
    });
    assert.equal(
      (await lxd.readInstanceFile(PROBE, '/home/ubuntu/.ssh/authorized_keys'))?.toString(),
      'ssh-ed25519 AAAA x\n',
    );
    const stat = await lxd.execInstance(PROBE, [
      'stat',
      '-c',
      '%U %a',
      '/home/ubuntu/.ssh',
      '/home/ubuntu/.ssh/authorized_keys',
    ]);
    assert.equal(stat.stdout, 'ubuntu 700\nubuntu 600\n');
    assert.equal(await lxd.readInstanceFile(PROBE, '/etc/ssw-no-such-file'), undefined);
  });
});

describe('the weekly base image', () => {
  test('a package that cannot be installed (no way to a mirror) is a retryable failure naming it, and leaves the builder to resume', async () => {
    const want = {
      alias: ALIAS,
      builder: BUILDER,
      source: harness().lxd.baseImage,
      requiredCommands: { ...REQUIRED_COMMANDS, 'ssw-not-a-command': 'ssw-not-a-package' },
    };
    await assert.rejects(
      ensureBaseImage(lxd, want, 'container', () => undefined),
      isFailure('SswCommandFailed', false, /Installing ssw-not-a-package into the base image builder/),
    );
    assert.equal((await lxd.getInstance(BUILDER))?.status, 'Running', 'the builder stays for the next attempt');
    assert.equal(await lxd.getImageAlias(ALIAS), undefined);
  });

  test('built from the harness image: published under the alias, builder gone, no SSH host keys or machine id inside; a second call keeps it', async () => {
    const stages: string[] = [];
    const want = {
      alias: ALIAS,
      builder: BUILDER,
      source: harness().lxd.baseImage,
      requiredCommands: REQUIRED_COMMANDS,
    };
    const built = await ensureBaseImage(lxd, want, 'container', (s) => stages.push(s));
    assert.equal(built.built, true);
    assert.deepEqual(built.installed, []);
    assert.ok(
      !stages.some((s) => s.startsWith('creating')),
      `resumed with the existing builder: ${stages.join(' / ')}`,
    );
    assert.equal(await lxd.getInstance(BUILDER), undefined);
    assert.equal((await lxd.getImageAlias(ALIAS))?.target, built.fingerprint);

    await lxd.createInstance({
      name: `${PROBE}-from-image`,
      type: 'container',
      profiles: [],
      devices: { root: { type: 'disk', path: '/', pool: POOL } },
      source: { type: 'image', alias: ALIAS },
    });
    assert.equal(await lxd.readInstanceFile(`${PROBE}-from-image`, '/etc/ssh/ssh_host_ed25519_key.pub'), undefined);
    assert.equal((await lxd.readInstanceFile(`${PROBE}-from-image`, '/etc/machine-id'))?.length, 0);

    const again = await ensureBaseImage(lxd, want, 'container', () => undefined);
    assert.deepEqual(again, { alias: ALIAS, fingerprint: built.fingerprint, built: false, installed: [] });
  });
  /** The builder and the alias gone: the state a build starts from. */
  async function fromNothing(): Promise<void> {
    await removeInstance(BUILDER);
    await removeInstance(OTHER_BUILDER);
    const alias = await lxd.getImageAlias(ALIAS);
    if (alias) await lxd.deleteImage(alias.target);
  }

  const imageCount = async () => (await lxd.get<string[]>('/1.0/images')).length;

  /** The LXD calls that change the builder or the image: each one's end is a stage boundary. */
  const STAGE_CALLS = new Set([
    'createInstance',
    'setInstanceState',
    'execInstance',
    'patchInstance',
    'publishInstance',
    'deleteInstance',
  ]);

  /**
   * The client, with the worker dying right after the LXD call number
   * `crashAfter` of STAGE_CALLS completed: that call and every later one
   * throw, so code that catches an error reaches LXD no more than a dead
   * process would, and `death` is aborted (the activity's signal: polls stop).
   * `calls` records them; the readiness probe (`true`) is no stage.
   */
  function dyingLxd(crashAfter: number, calls: string[], crash: Error, death = new AbortController()): LxdClient {
    let dead = false;
    const wrap = (client: LxdClient): LxdClient =>
      new Proxy(client, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (prop === 'withProject') return (p: string) => wrap(target.withProject(p));
          if (typeof value !== 'function' || prop === 'close') return value;
          return async (...args: unknown[]) => {
            if (dead) throw crash;
            const out = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            if (
              typeof prop !== 'string' ||
              !STAGE_CALLS.has(prop) ||
              (prop === 'execInstance' && (args[1] as string[])[0] === 'true')
            )
              return out;
            calls.push(
              prop === 'execInstance'
                ? `exec ${(args[1] as string[]).slice(0, 2).join(' ')}`
                : prop === 'setInstanceState'
                  ? `${prop} ${(args[1] as { action: string }).action}`
                  : prop,
            );
            if (calls.length - 1 === crashAfter) {
              dead = true;
              death.abort();
              throw crash;
            }
            return out;
          };
        },
      });
    return wrap(lxd);
  }

  test('a worker dying right after any stage (after publishing too): the next attempt finishes the build, deletes the builder, publishes once', async () => {
    const want = {
      alias: ALIAS,
      builder: BUILDER,
      source: harness().lxd.baseImage,
      requiredCommands: REQUIRED_COMMANDS,
    };
    await fromNothing();
    const stages: string[] = [];
    await ensureBaseImage(dyingLxd(-1, stages, new Error('never')), want, 'container', () => undefined);
    assert.ok(stages.includes('publishInstance') && stages.at(-1) === 'deleteInstance', stages.join(' / '));
    const images = await imageCount();

    // A crash after each call in turn, until an attempt makes fewer calls than that (LXD's answers may vary the path a
    // little).
    const diedAfter: string[] = [];
    for (let k = 0; ; k++) {
      await fromNothing();
      const calls: string[] = [];
      const crash = new Error(`simulated crash after call #${k}`);
      const death = new AbortController();
      const attempt = await ensureBaseImage(
        dyingLxd(k, calls, crash, death),
        want,
        'container',
        () => undefined,
        death.signal,
      ).then(
        () => undefined,
        (err: unknown) => err,
      );
      if (attempt === undefined) break; // fewer than k + 1 calls: every boundary was hit
      assert.ok(death.signal.aborted && calls.length === k + 1, `died after call #${k}: ${String(attempt)}`);
      diedAfter.push(calls.at(-1)!);
      const resumed: string[] = [];
      const retried: string[] = [];
      const done = await ensureBaseImage(dyingLxd(-1, retried, crash), want, 'container', (s) => resumed.push(s));
      const after = `after ${calls.join(' / ')}; resumed with ${retried.join(' / ')}`;
      assert.equal(await lxd.getInstance(BUILDER), undefined, `no builder left ${after}`);
      assert.equal((await lxd.getImageAlias(ALIAS))?.target, done.fingerprint, after);
      assert.equal(await imageCount(), images, `one image, not two, ${after}`);
      assert.ok(!retried.includes('createInstance'), `the builder is not made again ${after}`);
      if (calls.includes('patchInstance'))
        assert.ok(!retried.includes('setInstanceState start'), `a cleaned builder is not started again ${after}`);
    }
    for (const boundary of [
      'createInstance',
      'setInstanceState start',
      'patchInstance',
      'setInstanceState stop',
      'publishInstance',
      'deleteInstance',
    ]) {
      assert.ok(
        diedAfter.includes(boundary),
        `a crash right after ${boundary} (crashed after: ${diedAfter.join(' / ')}; a build from nothing: ${stages.join(' / ')})`,
      );
    }
  });

  test('a worker dying while LXD publishes: the next attempt waits for that publish instead of starting or publishing the builder again', async () => {
    const want = {
      alias: ALIAS,
      builder: BUILDER,
      source: harness().lxd.baseImage,
      requiredCommands: REQUIRED_COMMANDS,
    };
    await fromNothing();
    const before = await imageCount();
    const dying = new AbortController();
    const killed = ensureBaseImage(
      lxd,
      want,
      'container',
      (s) => {
        if (!s.startsWith('publishing')) return;
        // Dies once LXD runs the publish: the operation goes on without the caller, as it does without a worker.
        void pollUntil(
          async () => (await lxd.listRunningOperations()).some((op) => op.description === 'Downloading image'),
          { timeoutMs: 60_000, what: 'the publish to run' },
        ).then(() => dying.abort());
      },
      dying.signal,
    );
    await assert.rejects(killed);
    assert.equal(await lxd.getImageAlias(ALIAS), undefined, 'killed before LXD finished publishing');
    const resumed: string[] = [];
    const done = await ensureBaseImage(lxd, want, 'container', (s) => resumed.push(s));
    assert.ok(resumed[0]?.startsWith('waiting for LXD to finish'), resumed.join(' / '));
    assert.ok(!resumed.some((s) => s.startsWith('starting') || s.startsWith('publishing')), resumed.join(' / '));
    assert.equal(await lxd.getInstance(BUILDER), undefined);
    assert.equal((await lxd.getImageAlias(ALIAS))?.target, done.fingerprint);
    assert.equal(await imageCount(), before + 1, 'one image published');
  });

  test("two deployments building the week's image at once: each in its own builder; one image, used by both; no builder or stray image left", async () => {
    const base = { alias: ALIAS, source: harness().lxd.baseImage, requiredCommands: REQUIRED_COMMANDS };
    await fromNothing();
    const before = await imageCount();
    const [a, b] = await Promise.all([
      ensureBaseImage(lxd, { ...base, builder: BUILDER }, 'container', () => undefined),
      ensureBaseImage(lxd, { ...base, builder: OTHER_BUILDER }, 'container', () => undefined),
    ]);
    assert.equal(a.fingerprint, b.fingerprint);
    assert.equal((await lxd.getImageAlias(ALIAS))?.target, a.fingerprint);
    assert.equal(await imageCount(), before + 1, 'one image');
    for (const n of [BUILDER, OTHER_BUILDER]) assert.equal(await lxd.getInstance(n), undefined, `${n} gone`);

    // The other build publishing between this one's last look at the alias and its own publish: LXD makes this
    // build's image, then refuses the alias. That image goes; the other's is used.
    await fromNothing();
    let other: Promise<unknown> | undefined;
    const racing = new Proxy(lxd, {
      get(target, prop, receiver) {
        if (prop === 'withProject')
          return (p: string) =>
            new Proxy(target.withProject(p), {
              get(t, q, r) {
                const v = Reflect.get(t, q, r) as unknown;
                if (q !== 'publishInstance' || other) return typeof v === 'function' ? v.bind(t) : v;
                return async (...args: unknown[]) => {
                  other = ensureBaseImage(lxd, { ...base, builder: OTHER_BUILDER }, 'container', () => undefined);
                  await other;
                  return (v as (...a: unknown[]) => Promise<unknown>).apply(t, args);
                };
              },
            });
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const stages: string[] = [];
    const lost = await ensureBaseImage(racing, { ...base, builder: BUILDER }, 'container', (s) => stages.push(s));
    const won = (await other) as { fingerprint: string; built: boolean };
    assert.equal(won.built, true);
    assert.deepEqual(lost, { alias: ALIAS, fingerprint: won.fingerprint, built: false, installed: [] });
    assert.ok(stages.includes('another build published the image meanwhile: using it'), stages.join(' / '));
    assert.equal(await imageCount(), before + 1, 'the losing build left no image');
    assert.ok(!(await lxd.listImages()).some((i) => i.properties?.[BUILDER_PROPERTY] === BUILDER));
    for (const n of [BUILDER, OTHER_BUILDER]) assert.equal(await lxd.getInstance(n), undefined, `${n} gone`);
  });
});
