import { bundleWorkflowCode, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { failureConverterPath } from '../common/codec/data-converter';
import { workflowsPath } from './worker';

/**
 * Bundles the workflows once, for processes that start several workers
 * (tests, benchmarks). The failure converter goes into the bundle because
 * workflow code converts failures inside the sandbox.
 */
export async function bundleSswWorkflows(path: string = workflowsPath): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: path, failureConverterPath, logger: quietLogger });
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
