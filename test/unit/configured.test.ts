import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { configured } from '../../activities/config';
import { UserError } from '../../common/errors';
import { FailureType } from '../../common/failure-types';
import { isFailure } from '../helpers/failures';

// The one way an activity turns the config's UserError into a failure: final, typed SswConfigError,
// worded for a run that has started; for synchronous and asynchronous reads alike.
const problem = () =>
  new UserError(
    'The configuration has 1 problem; nothing was started:\n  site.conf: X: bad, then run the command again',
  );
const expected =
  /^The configuration has 1 problem:\n {2}site\.conf: X: bad, then run the operation again\nThe configuration is read again by the next run\.$/;

describe('configured', () => {
  test('a config problem in a read becomes a final config failure worded for a started run', async () => {
    assert.throws(
      () =>
        configured(() => {
          throw problem();
        }),
      isFailure(FailureType.Config, true, expected),
    );
    await assert.rejects(
      configured(async () => {
        throw problem();
      }),
      isFailure(FailureType.Config, true, expected),
    );
  });

  test('values pass through, and any other error stays as it is', async () => {
    assert.equal(
      configured(() => 1),
      1,
    );
    assert.equal(await configured(async () => 2), 2);
    const other = new Error('socket closed');
    assert.throws(
      () =>
        configured(() => {
          throw other;
        }),
      (err) => err === other,
    );
    await assert.rejects(
      configured(async () => {
        throw other;
      }),
      (err) => err === other,
    );
  });
});
