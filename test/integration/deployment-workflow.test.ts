import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SswActivities } from '../../activities';
import { desiredDeployment } from '../../common/deployment/desired';
import { planDeployment, type DeploymentPlan } from '../../common/deployment/plan';
import { queryProgress } from '../../client/follow';
import { isFailure } from '../helpers/failures';
import { appliedState, deploymentConfig } from '../fixtures/deployment';
import { standInSuite, withStandInWorker } from '../helpers/standin-worker';

// deploymentUp's branching on stand-in activities (the real ones: cli-deployment.test.ts and
// deployment-lxd.test.ts): the production guard, conflicts stop before any change, a plan with
// nothing to do changes nothing, and instances come up in parallel unless asked not to.
const suite = standInSuite('deploywf');
const key = suite.key;

const desired = desiredDeployment(
  deploymentConfig({ instanceType: 'container' }),
  {
    dataPlaneInterface: 'eth0',
    hasOvn: false,
    cloudInitKeys: 'user',
    bridgeSubnet: '10.151.1.1/24',
    sshPublicKey: 'ssh-ed25519 AAAA test',
  },
  { now: new Date('2026-11-22T00:00:00Z') },
);

interface Calls {
  ensure: string[];
  verified: string[];
  /** Both instance creations must be in flight at once (parallel) before either returns. */
  barrier?: { waiting: number; release?: () => void };
  /** Most instance creations in flight at once. */
  inflight?: { now: number; max: number };
  /** What pinning each instance's host key found: a key that replaced an earlier pin. */
  repinned?: boolean;
}

// Typed against the real activities: a renamed or re-typed one breaks the build.
function activities(plan: DeploymentPlan, calls: Calls) {
  const note =
    <R>(what: string, result: R) =>
    async () => {
      calls.ensure.push(what);
      return result;
    };
  return {
    waitForExclusiveTurn: async () => ({ waitedFor: [] }),
    planDeployment: async () => ({ desired, plan }),
    ensureProject: note('project', { created: true }),
    ensureNetwork: note('network', { created: true }),
    ensureBaseImage: note('image', { alias: 'ss-base', fingerprint: 'f'.repeat(64), built: true, installed: [] }),
    ensureProfile: async (_r: string, _p: string, i: { name: string }) => (
      calls.ensure.push(`profile ${i.name}`),
      { action: 'created' }
    ),
    ensureVolumes: async (_r: string, _p: string, v: { name: string }[]) => (
      calls.ensure.push(`volumes ${v.length}`),
      { created: [], grown: [] }
    ),
    ensureInstance: async (_r: string, _p: string, i: { name: string }) => {
      calls.ensure.push(`instance ${i.name}`);
      const f = calls.inflight;
      if (f) {
        f.now++;
        f.max = Math.max(f.max, f.now);
        await new Promise((r) => setImmediate(r));
        f.now--;
      }
      const b = calls.barrier;
      if (b) {
        b.waiting++;
        if (b.waiting === 2) b.release?.();
        else
          await new Promise<void>((resolve, reject) => {
            b.release = resolve;
            setTimeout(
              () => reject(new Error('the other instance never started: instances ran one after another')),
              5_000,
            );
          });
      }
      return { created: true, started: true };
    },
    waitForInstanceAddress: async (_r: string, _p: string, name: string) => (
      calls.verified.push(`address ${name}`),
      { address: name.startsWith('www') ? '10.0.0.2' : '10.0.0.3' }
    ),
    authorizeOperatorKey: async () => ({ written: false }),
    pinInstanceHostKey: async () =>
      calls.repinned
        ? { fingerprint: 'SHA256:new', replaced: true, previousFingerprint: 'SHA256:old' }
        : { fingerprint: 'SHA256:x', replaced: false },
    waitForInstanceSsh: async () => ({ fingerprint: 'SHA256:x' }),
    prepareDataPaths: async () => ({ paths: [] }),
    recordInstance: async () => undefined,
    removeInstance: async (_r: string, _d: string, name: string) => (
      calls.ensure.push(`remove ${name}`),
      { removed: true }
    ),
    // The www services (and BTCPay's, on the btcpayserver instance).
    deployStacks: async (_r: string, _d: string, which: string) => {
      calls.ensure.push(`stacks ${which}`);
      return {
        images: [],
        stacks: [
          {
            stack: which === 'proxy' ? 'reverse-proxy' : which === 'btcpay' ? 'btcpay-bitcoin' : 'abc123-ghost-en',
            networksCreated: [],
            created: [],
            replaced: [],
            started: [],
            reloaded: [],
            rejoined: [],
            removed: [],
            unchanged: ['x'],
          },
        ],
      };
    },
    removeStacks: async (_r: string, _d: string, which: { stacks: string[] } | 'all', role?: string) => {
      const stacks = which === 'all' ? [] : which.stacks;
      calls.ensure.push(`${role === 'btcpayserver' ? 'btcpay: ' : ''}remove stacks ${stacks.join(',')}`);
      return { removed: stacks, containers: [] };
    },
    checkSitesServed: async () => (calls.verified.push('served'), [{ name: 'example.com', status: 301 }]),
    ensureBtcpaySecrets: async () => (calls.ensure.push('btcpay: secrets'), { added: [], file: 'site.conf' }),
    closeBtcpayGate: async () => void calls.ensure.push('btcpay: syncing page'),
    openBtcpayGate: async () => void calls.ensure.push('btcpay: names open'),
    preloadChain: async () => (
      calls.ensure.push('btcpay: preload'),
      { skipped: false, fingerprint: 'f', files: 2, bytes: 10, bytesSent: 10, skippedFiles: 0, resumedBytes: 0 }
    ),
    waitForChainSync: async () => (
      calls.ensure.push('btcpay: chain sync'),
      { synced: true, summary: 'block 5 of 5 (100 %), 1 peer, synced', attempt: 1 }
    ),
    waitForBtcpay: async () => (
      calls.ensure.push('btcpay: health'),
      { answered: true, synchronized: true, detail: '{"synchronized":true}' }
    ),
  } satisfies Partial<SswActivities>;
}

/** The instances part by default (instancesOnly); the services' branching is tested on its own below. */
async function run(plan: DeploymentPlan, calls: Calls, input: object = {}) {
  return withStandInWorker(key, activities(plan, calls), 'deploywf', async (taskQueue) => {
    const handle = await suite.client().workflow.start('deploymentUp', {
      taskQueue,
      workflowId: `${taskQueue}-up`,
      args: [{ remote: 'home', deployment: 'public', instancesOnly: true, ...input }],
    });
    try {
      return { result: await handle.result(), progress: await queryProgress(suite.client(), handle) };
    } catch (err) {
      return { error: err as Error, progress: await queryProgress(suite.client(), handle).catch(() => undefined) };
    }
  });
}

describe('deploymentUp branching', () => {
  test('from nothing: every object created, both instances in flight at once', async () => {
    const calls: Calls = { ensure: [], verified: [], barrier: { waiting: 0 } };
    const { result, error } = await run(planDeployment(desired, { profiles: {}, volumes: {}, instances: {} }), calls);
    assert.equal(error, undefined, error?.message);
    assert.deepEqual(calls.ensure.slice(0, 3), ['project', 'network', 'image']);
    assert.deepEqual(calls.ensure.filter((c) => c.startsWith('instance')).sort(), [
      'instance btcpayserver-example-com',
      'instance www-example-com',
    ]);
    assert.equal((result as { instances: unknown[] }).instances.length, 2);
  });

  test('a plan with nothing to do changes nothing, but still checks each instance is reachable', async () => {
    const calls: Calls = { ensure: [], verified: [] };
    const { result, progress } = await run(planDeployment(desired, appliedState(desired)), calls);
    assert.deepEqual(calls.ensure, []);
    assert.deepEqual(calls.verified.sort(), ['address btcpayserver-example-com', 'address www-example-com']);
    assert.deepEqual((result as { changes: unknown[] }).changes, []);
    const state = Object.fromEntries(progress!.steps.map((s) => [s.name, s.state]));
    assert.equal(state['www: instance created and started'], 'skipped');
    assert.equal(state['Base image'], 'skipped');
  });

  test('conflicts stop the run before anything changes', async () => {
    const cur = appliedState(desired);
    cur.instances['www-example-com']!.type = 'virtual-machine';
    const calls: Calls = { ensure: [], verified: [] };
    const { error } = await run(planDeployment(desired, cur), calls);
    assert.ok(
      isFailure(
        'SswConfigError',
        true,
        /www-example-com is a virtual-machine but INSTANCE_TYPE is container/,
      )((error as { cause?: Error }).cause),
    );
    assert.deepEqual(calls.ensure, []);
  });

  test('a production remote without --yes is refused before the plan; --sequential brings instances up one by one', async () => {
    const calls: Calls = { ensure: [], verified: [] };
    const { error } = await run(planDeployment(desired, { profiles: {}, volumes: {}, instances: {} }), calls, {
      remote: 'prod-dc1',
    });
    assert.ok(
      isFailure(
        'SswValidationError',
        true,
        /Remote prod-dc1 is a production remote/,
      )((error as { cause?: Error }).cause),
    );
    assert.deepEqual(calls.ensure, []);

    const seq: Calls = { ensure: [], verified: [], inflight: { now: 0, max: 0 } };
    const sequential = await run(planDeployment(desired, { profiles: {}, volumes: {}, instances: {} }), seq, {
      sequential: true,
    });
    assert.equal(sequential.error, undefined);
    assert.equal(seq.inflight!.max, 1, 'one instance at a time');
    assert.equal(seq.ensure.filter((c) => c.startsWith('instance')).length, 2);
  });
});

describe('deploymentUp branching: host keys', () => {
  test('a kept instance whose pinned key was replaced is a warning with both fingerprints', async () => {
    const { result, error } = await run(planDeployment(desired, appliedState(desired)), {
      ensure: [],
      verified: [],
      repinned: true,
    });
    assert.equal(error, undefined, error?.message);
    const warnings = (result as { warnings?: string[] }).warnings ?? [];
    assert.equal(warnings.length, 2, 'one per kept instance');
    for (const w of warnings) assert.match(w, /was kept, but its SSH host key changed: was SHA256:old, now SHA256:new/);
  });

  test('an instance this run created replaces its old pin without a warning', async () => {
    const { result, error } = await run(planDeployment(desired, { profiles: {}, volumes: {}, instances: {} }), {
      ensure: [],
      verified: [],
      repinned: true,
    });
    assert.equal(error, undefined, error?.message);
    assert.equal((result as { warnings?: string[] }).warnings, undefined);
  });
});

describe('deploymentUp branching: the www services', () => {
  const stack = (name: string, action: 'create' | 'keep' | 'delete') => ({
    kind: 'stack' as const,
    name,
    action,
    details: [],
    role: 'www' as const,
  });

  test('first up: proxy, then apps, then the served check; --no-cert-renew skips certbot; no backup of data that did not exist', async () => {
    const plan = planDeployment(desired, { profiles: {}, volumes: {}, instances: {} });
    plan.items.push(stack('reverse-proxy', 'create'), stack('abc123-ghost-en', 'create'));
    const calls: Calls = { ensure: [], verified: [] };
    const { result, error, progress } = await run(plan, calls, { instancesOnly: false, noCertRenew: true });
    assert.equal(error, undefined, error?.message);
    assert.deepEqual(
      calls.ensure.filter((c) => (c.startsWith('stacks') || c.startsWith('remove stacks')) && c !== 'stacks btcpay'),
      ['stacks proxy', 'stacks apps'],
    );
    assert.equal(calls.verified.at(-1), 'served');
    const state = Object.fromEntries(
      progress!.steps.map((s) => [s.name, `${s.state}${s.detail ? `: ${s.detail}` : ''}`]),
    );
    assert.match(state['Certificates: obtain or renew what is due']!, /^skipped: not asked \(--no-cert-renew\)/);
    assert.match(state['Back up the www apps']!, /^skipped: first up/);
    assert.deepEqual((result as { services: { served: string[] } }).services.served, ['example.com']);
  });

  test('a stack whose site left the config is removed after the apps are deployed; --skip-wwwbackup skips the backup', async () => {
    const plan = planDeployment(desired, appliedState(desired));
    plan.items.push(
      stack('reverse-proxy', 'keep'),
      stack('abc123-ghost-en', 'keep'),
      stack('def456-ghost-en', 'delete'),
    );
    const calls: Calls = { ensure: [], verified: [] };
    const { result, error, progress } = await run(plan, calls, {
      instancesOnly: false,
      noCertRenew: true,
      skipBackup: true,
    });
    assert.equal(error, undefined, error?.message);
    assert.deepEqual(
      calls.ensure.filter((c) => !c.startsWith('btcpay') && c !== 'stacks btcpay'),
      ['stacks proxy', 'stacks apps', 'remove stacks def456-ghost-en'],
    );
    assert.deepEqual((result as { services: { removedStacks: string[] } }).services.removedStacks, ['def456-ghost-en']);
    assert.match(progress!.steps.find((s) => s.name === 'Back up the www apps')!.detail!, /--skip-wwwbackup/);
  });
});

describe('deploymentUp branching: BTCPay on the btcpayserver instance', () => {
  const stack = (name: string, action: 'create' | 'keep' | 'delete') => ({
    kind: 'stack' as const,
    name,
    action,
    details: [],
    role: 'btcpayserver' as const,
  });
  const btcpayCalls = (calls: Calls) => calls.ensure.filter((c) => c.startsWith('btcpay') || c === 'stacks btcpay');

  test('first up: secrets, pre-load, the syncing page, the stacks, then the chain-sync child (sync, health, names open)', async () => {
    const plan = planDeployment(desired, { profiles: {}, volumes: {}, instances: {} });
    plan.items.push(stack('btcpay-bitcoin', 'create'), stack('btcpay-server', 'create'));
    const calls: Calls = { ensure: [], verified: [] };
    const { result, error } = await run(plan, calls, { instancesOnly: false, noCertRenew: true, preloadChain: '/x' });
    assert.equal(error, undefined, error?.message);
    assert.deepEqual(btcpayCalls(calls), [
      'btcpay: secrets',
      'btcpay: preload',
      'btcpay: syncing page',
      'stacks btcpay',
      'btcpay: chain sync',
      'btcpay: health',
      'btcpay: names open',
    ]);
    const b = (result as { btcpay: { sync: { gate: string; synced: boolean }; preload: { files: number } } }).btcpay;
    assert.equal(b.sync.gate, 'opened');
    assert.equal(b.preload.files, 2);
  });

  test('a node that has run: no syncing page, no pre-load allowed (refused before any change)', async () => {
    const plan = planDeployment(desired, appliedState(desired));
    plan.items.push(stack('btcpay-bitcoin', 'keep'), stack('btcpay-server', 'keep'), stack('btcpay-old', 'delete'));
    const calls: Calls = { ensure: [], verified: [] };
    const again = await run(plan, calls, { instancesOnly: false, noCertRenew: true, skipBackup: true });
    assert.equal(again.error, undefined, again.error?.message);
    assert.deepEqual(btcpayCalls(calls), [
      'btcpay: secrets',
      'stacks btcpay',
      'btcpay: remove stacks btcpay-old',
      'btcpay: chain sync',
      'btcpay: health',
      'btcpay: names open',
    ]);
    const refused: Calls = { ensure: [], verified: [] };
    const { error } = await run(plan, refused, { instancesOnly: false, preloadChain: '/x' });
    assert.ok(isFailure('SswConfigError', true, /--preload-chain is refused/)((error as { cause?: Error }).cause));
    assert.deepEqual(refused.ensure, [], 'nothing changed');
  });

  test('--no-wait-sync: the wait is started as its own workflow and up does not wait for it', async () => {
    const plan = planDeployment(desired, appliedState(desired));
    plan.items.push(stack('btcpay-bitcoin', 'keep'), stack('btcpay-server', 'keep'));
    const calls: Calls = { ensure: [], verified: [] };
    const { result, error } = await run(plan, calls, { instancesOnly: false, noCertRenew: true, noWaitSync: true });
    assert.equal(error, undefined, error?.message);
    const b = (result as { btcpay: { sync: { workflowId: string; waiting: boolean } } }).btcpay;
    assert.deepEqual(b.sync, { workflowId: 'chain-sync/home/public', waiting: true });
  });
});
