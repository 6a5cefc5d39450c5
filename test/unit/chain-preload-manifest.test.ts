import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { preloadStatus, sourceFingerprint } from '../../activities/bitcoin/manifest';

const files = [
  { path: 'blocks/blk00000.dat', size: 100 },
  { path: 'chainstate/CURRENT', size: 16 },
];
const fp = sourceFingerprint(files);
const sha = 'a'.repeat(64);

describe('chain pre-load manifest', () => {
  test('the fingerprint depends on every path and size, and on nothing else', () => {
    assert.match(fp, /^[0-9a-f]{64}$/);
    assert.equal(sourceFingerprint(files.map((f) => ({ ...f }))), fp);
    assert.notEqual(sourceFingerprint([{ ...files[0]!, size: 101 }, files[1]!]), fp);
    assert.notEqual(sourceFingerprint([files[0]!, { ...files[1]!, path: 'chainstate/CURRENT2' }]), fp);
    assert.notEqual(sourceFingerprint([files[0]!]), fp);
  });

  test('preloadStatus counts what is verified, and tells partial from complete', () => {
    const m = {
      version: 1,
      fingerprint: fp,
      startedAt: 'now',
      complete: false,
      files: [{ ...files[0]!, sha256: sha }, files[1]],
    };
    assert.deepEqual(preloadStatus(JSON.stringify(m)), {
      state: 'partial',
      fingerprint: fp,
      files: 2,
      bytes: 116,
      verifiedFiles: 1,
      verifiedBytes: 100,
    });
    assert.equal(preloadStatus(JSON.stringify({ ...m, complete: true })).state, 'complete');
  });

  test('no manifest is none; anything that is not one of ours is invalid, with the reason', () => {
    assert.deepEqual(preloadStatus(undefined), { state: 'none' });
    const broken = preloadStatus('{');
    assert.equal(broken.state, 'invalid');
    assert.match((broken as { reason: string }).reason, /^not JSON/);
    assert.deepEqual(preloadStatus('{"version":2}'), { state: 'invalid', reason: 'unknown version 2' });
    assert.deepEqual(
      preloadStatus(JSON.stringify({ version: 1, fingerprint: fp, complete: false, files: [{ path: 'x' }] })),
      {
        state: 'invalid',
        reason: 'a file without path or size',
      },
    );
    assert.deepEqual(
      preloadStatus(
        JSON.stringify({ version: 1, fingerprint: fp, complete: true, files: [{ path: 'x', size: 1, sha256: 'zz' }] }),
      ),
      { state: 'invalid', reason: 'a bad sha256 for x' },
    );
  });
});
