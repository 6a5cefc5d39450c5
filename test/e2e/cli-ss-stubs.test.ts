import { addHarnessRemote, harnessCliArgs } from '../helpers/suite-args';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LxdClient } from '../../activities/lxd/client';
import { SsPaths } from '../../common/paths';
import { LongRunning, ssw, startService, stopService } from '../helpers/cli';
import { harnessLxd, resetHarnessLxd } from '../helpers/lxd';
import { buildSsStubTree } from '../helpers/ss-stubs';
import { tempSsRoot, uniqueTaskQueue } from '../helpers/temporal';

// The tree the newest Sovereign Stack (its incus branch) writes, built from its stub texts
// (test/fixtures/config/ss-incus-stubs): files of mode 0744, links between the directories, a remote.conf
// with no DEPLOYMENT_STRING. `ssw config check` accepts it as it is, and `ssw up --plan` plans it on the
// harness host (a real worker reads the harness LXD; nothing is changed).
const root = tempSsRoot('ssw-ssstubs-');
const paths = new SsPaths(root);
const taskQueue = uniqueTaskQueue('ssstubs');
const REMOTE = 'ssinc';
const DEPLOYMENT = 'ssstubs';
const DOMAIN = 'ssstubs.example';
const common = () => harnessCliArgs(root, taskQueue);
const NO_STACK = /\n\s+at .+:\d+:\d+/;

let worker: LongRunning;
let lxd: LxdClient;
let files: { remoteConf: string; projectConf: string; siteConf: string };

before(async () => {
  lxd = harnessLxd();
  await resetHarnessLxd(lxd, paths, [DEPLOYMENT]);
  worker = await startService(['worker', ...common()], /Worker polling/);
  // ss-remote first: it writes remote.conf (0744) before the host is taken under management.
  files = buildSsStubTree(root, {
    remote: REMOTE,
    deployment: DEPLOYMENT,
    domain: DOMAIN,
    macs: { www: '02:11:11:00:00:01', btcpay: '02:11:11:00:00:02' },
  });
  const add = addHarnessRemote(REMOTE, 18447, common(), ['--backend', 'lxd']);
  assert.equal(add.status, 0, add.stderr);
});

after(async () => {
  if (worker) await stopService(worker);
  if (lxd) {
    await resetHarnessLxd(lxd, paths, [DEPLOYMENT]);
    lxd.close();
  }
});

describe("the newest ss's stub tree", () => {
  test('ssw config check: valid as it is, with one chmod line for the 0744 site.conf', () => {
    const chmod = `ssw: warning: ${files.siteConf} holds this site's passwords and is readable by other users (mode 744). Run: chmod 600 ${files.siteConf}`;
    const r = ssw(['config', 'check', '--remote', REMOTE, '--deployment', DEPLOYMENT, ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `is valid: remotes ${REMOTE} \\(${DEPLOYMENT}\\); deployments ${DEPLOYMENT}; sites ${DOMAIN.replace('.', '\\.')}\\.`,
      ),
    );
    assert.deepEqual(r.stderr.split('\n').filter(Boolean), [chmod]);
    for (const f of Object.values(files))
      assert.equal(fs.statSync(f).mode & 0o777, 0o744, `${f} is left as ss made it`);
  });

  test('ssw up --plan: plans both instances on the MACs ss told the operator to fill, and changes nothing', async () => {
    const r = ssw(['up', '--deployment', DEPLOYMENT, '--remote', REMOTE, '--plan', ...common()]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, NO_STACK);
    for (const line of [
      new RegExp(`\\+ create project\\s+${DEPLOYMENT}`),
      new RegExp(`\\+ create instance www-${DOMAIN.replace('.', '-')}`),
      new RegExp(`\\+ create instance btcpayserver-${DOMAIN.replace('.', '-')}`),
    ]) {
      assert.match(r.stdout, line);
    }
    assert.doesNotMatch(r.stdout, /lnplayserver/, 'LNPLAY_SERVER_MAC_ADDRESS is empty: not deployed');
    assert.equal(r.stderr.split('\n').filter((l) => l.includes('chmod 600')).length, 1, r.stderr);
    assert.equal(await lxd.getProject(DEPLOYMENT), undefined, 'nothing was created');
  });
});
