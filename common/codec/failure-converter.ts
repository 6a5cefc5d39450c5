import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces often name hosts, paths and domains:
 * move them into the (encrypted) encoded attributes instead of history's
 * clear-text fields. Loaded by path because the workflow sandbox needs it too.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
