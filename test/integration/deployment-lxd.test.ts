import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureBaseImage, builderName } from '../../activities/deployment/base-image';
import type { LxdClient } from '../../activities/lxd/client';
import { REQUIRED_COMMANDS } from '../../common/deployment/desired';
import { isFailure } from '../helpers/failures';
import { harness } from '../helpers/harness';
import { harnessLxd } from '../helpers/lxd';

// The LXD calls deployments add (exec without websockets, the files API, publishing) and the
// weekly base image build, against the harness's real LXD and its debootstrap image.
const POOL = 'ss-base';
const ALIAS = 'ss-docker-itest-w01';
const PROBE = 'ssw-itest-probe';
let lxd: LxdClient;
let madePool = false;

async function removeInstance(name: string): Promise<void> {
  const i = await lxd.getInstance(name);
  if (!i) return;
  if (i.status !== 'Stopped') await lxd.setInstanceState(name, { action: 'stop', force: true, timeout: 30 });
  await lxd.deleteInstance(name);
}

async function cleanup(): Promise<void> {
  for (const name of [PROBE, builderName(ALIAS), `${PROBE}-from-image`]) await removeInstance(name);
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
  await lxd.createInstance({ name: PROBE, type: 'container', profiles: [], devices: { root: { type: 'disk', path: '/', pool: POOL } }, source: { type: 'image', alias: harness().lxd.baseImage } });
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
    await lxd.writeInstanceFile(PROBE, '/home/ubuntu/.ssh/authorized_keys', { content: Buffer.from('ssh-ed25519 AAAA x\n'), uid: 1000, gid: 1000, mode: 0o600 });
    assert.equal((await lxd.readInstanceFile(PROBE, '/home/ubuntu/.ssh/authorized_keys'))?.toString(), 'ssh-ed25519 AAAA x\n');
    const stat = await lxd.execInstance(PROBE, ['stat', '-c', '%U %a', '/home/ubuntu/.ssh', '/home/ubuntu/.ssh/authorized_keys']);
    assert.equal(stat.stdout, 'ubuntu 700\nubuntu 600\n');
    assert.equal(await lxd.readInstanceFile(PROBE, '/etc/ssw-no-such-file'), undefined);
  });
});

describe('the weekly base image', () => {
  test('a package that cannot be installed (no way to a mirror) is a retryable failure naming it, and leaves the builder to resume', async () => {
    const want = { alias: ALIAS, source: harness().lxd.baseImage, requiredCommands: { ...REQUIRED_COMMANDS, 'ssw-not-a-command': 'ssw-not-a-package' } };
    await assert.rejects(ensureBaseImage(lxd, want, 'container', () => undefined), isFailure('SswCommandFailed', false, /Installing ssw-not-a-package into the base image builder/));
    assert.equal((await lxd.getInstance(builderName(ALIAS)))?.status, 'Running', 'the builder stays for the next attempt');
    assert.equal(await lxd.getImageAlias(ALIAS), undefined);
  });

  test('built from the harness image: published under the alias, builder gone, no SSH host keys or machine id inside; a second call keeps it', async () => {
    const stages: string[] = [];
    const want = { alias: ALIAS, source: harness().lxd.baseImage, requiredCommands: REQUIRED_COMMANDS };
    const built = await ensureBaseImage(lxd, want, 'container', (s) => stages.push(s));
    assert.equal(built.built, true);
    assert.deepEqual(built.installed, []);
    assert.ok(!stages.some((s) => s.startsWith('creating')), `resumed with the existing builder: ${stages.join(' / ')}`);
    assert.equal(await lxd.getInstance(builderName(ALIAS)), undefined);
    assert.equal((await lxd.getImageAlias(ALIAS))?.target, built.fingerprint);

    await lxd.createInstance({ name: `${PROBE}-from-image`, type: 'container', profiles: [], devices: { root: { type: 'disk', path: '/', pool: POOL } }, source: { type: 'image', alias: ALIAS } });
    assert.equal(await lxd.readInstanceFile(`${PROBE}-from-image`, '/etc/ssh/ssh_host_ed25519_key.pub'), undefined);
    assert.equal((await lxd.readInstanceFile(`${PROBE}-from-image`, '/etc/machine-id'))?.length, 0);

    const again = await ensureBaseImage(lxd, want, 'container', () => undefined);
    assert.deepEqual(again, { alias: ALIAS, fingerprint: built.fingerprint, built: false, installed: [] });
  });
});
