import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { queryProgress } from '../../client/follow';
import type { RenewCertificatesResult } from '../../workflows/renew-certificates';
import { certActivities, type CertCalls } from '../fixtures/cert-activities';
import { standInSuite, withStandInWorker } from '../helpers/standin-worker';

// renewCertificates' branching on stand-in activities (real ones: certbot.test.ts, cli-cert.test.ts):
// a valid certificate is kept without touching the CA, a missing one is obtained and backed up,
// the proxy is reloaded only when something changed, and a host without nginx skips the check.
const suite = standInSuite('certwf');
const key = suite.key;

async function run(calls: CertCalls, reloadHow: 'process' | 'none', input: object = {}) {
  return withStandInWorker(key, certActivities(calls, reloadHow), 'certwf', async (taskQueue) => {
    const handle = await suite.client().workflow.start('renewCertificates', {
      taskQueue,
      workflowId: `${taskQueue}-renew`,
      args: [{ target: { kind: 'deployment', remote: 'home', deployment: 'public' }, ...input }],
    });
    const result = (await handle.result()) as RenewCertificatesResult;
    return { result, progress: await queryProgress(suite.client(), handle), history: await handle.fetchHistory() };
  });
}

describe('renewCertificates branching', () => {
  test('keeps the valid certificate, obtains the missing one, reloads and checks once', async () => {
    const calls: CertCalls = { obtained: [], reloads: 0, verified: [] };
    const { result, progress } = await run(calls, 'process');
    assert.deepEqual(calls.obtained, ['new.test']);
    assert.equal(calls.reloads, 1);
    assert.deepEqual(calls.verified, [['new.test']]);
    assert.deepEqual(
      result.sites.map((s) => [s.domain, s.action, s.reason]),
      [
        ['kept.test', 'kept', 'valid'],
        ['new.test', 'renewed', 'missing'],
      ],
    );
    const state = Object.fromEntries(progress!.steps.map((s) => [s.name, s.state]));
    assert.equal(state['kept.test: obtain the certificate'], 'skipped');
    assert.equal(state['new.test: back up the certificate to this machine'], 'done');
    assert.equal(progress!.state, 'done');
  });

  test('the CA and install steps heartbeat on a timeout of seconds, so a crashed worker costs seconds, not a minute', async () => {
    const calls: CertCalls = { obtained: [], reloads: 0, verified: [] };
    const { history } = await run(calls, 'process');
    const timeouts = Object.fromEntries(
      (history.events ?? [])
        .map((e) => e.activityTaskScheduledEventAttributes)
        .filter((a) => a && ['obtainCertificate', 'ensureCertbot'].includes(a.activityType?.name ?? ''))
        .map((a) => [a!.activityType!.name!, Number(a!.heartbeatTimeout?.seconds ?? 0)]),
    );
    assert.deepEqual(Object.keys(timeouts).sort(), ['ensureCertbot', 'obtainCertificate']);
    for (const [name, seconds] of Object.entries(timeouts))
      assert.ok(seconds > 0 && seconds <= 15, `${name}: heartbeat timeout ${seconds} s`);
  });

  test('a host without a running nginx is not checked for the new certificate', async () => {
    const calls: CertCalls = { obtained: [], reloads: 0, verified: [] };
    const { result, progress } = await run(calls, 'none');
    assert.equal(result.reload?.how, 'none');
    assert.deepEqual(calls.verified, []);
    assert.equal(
      progress!.steps.find((s) => s.name === 'Check the proxy serves the new certificates')?.state,
      'skipped',
    );
  });
});
