import { bundleWorkflowCode, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { failureConverterPath } from '../common/codec/data-converter';
import { refuseUnencryptedWorkflowsPath } from './refuse-unencrypted';

/** The entry point of every ssw workflow. */
export const workflowsPath = require.resolve('../workflows');

/**
 * Bundles the workflows (quietly: webpack's report is noise to an operator);
 * processes that start several workers reuse one bundle. The failure converter goes into the bundle because
 * workflow code converts failures inside the sandbox; so does the interceptor
 * that refuses inputs this machine did not encrypt.
 */
export async function bundleSswWorkflows(path: string = workflowsPath): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: path,
    failureConverterPath,
    workflowInterceptorModules: [refuseUnencryptedWorkflowsPath],
    logger: quietLogger,
  });
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
