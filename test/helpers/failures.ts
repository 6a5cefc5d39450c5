import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';

/**
 * For assert.rejects: an ApplicationFailure of `type` (any when undefined), with this retryability, whose message
 * matches every pattern.
 */
export function isFailure(type: string | undefined, nonRetryable: boolean, ...patterns: RegExp[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    if (type !== undefined) assert.equal(err.type, type, err.message);
    assert.equal(!!err.nonRetryable, nonRetryable, `nonRetryable should be ${nonRetryable}: ${err.message}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };
}
