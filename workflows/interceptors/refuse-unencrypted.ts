import { ApplicationFailure, log, workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { firstRefusal, refusalMessage } from '../../common/codec/refusal';
import { FailureType } from '../../common/failure-types';

/**
 * Every ssw workflow refuses inputs its worker's codec could not decrypt
 * (see common/codec/refusal): the start fails at once, non-retryably, naming
 * the workflow, before any step runs. A refused signal is dropped (failing the
 * run for it would let anyone cancel an operation), a refused update or query
 * is rejected.
 */
function refuse(what: string, args: readonly unknown[]): void {
  const reason = firstRefusal(args);
  if (reason !== undefined)
    throw ApplicationFailure.nonRetryable(refusalMessage(what, reason), FailureType.UnencryptedPayload);
}

const run = () => `workflow ${workflowInfo().workflowType} (${workflowInfo().workflowId})`;

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      // async: a throw must reject the run's promise (a failed run); thrown synchronously it
      // would fail the workflow task instead, which Temporal retries forever.
      async execute(input, next) {
        refuse(run(), input.args);
        return next(input);
      },
      async handleSignal(input, next) {
        const reason = firstRefusal(input.args);
        if (reason !== undefined) {
          log.warn(`Dropped signal ${input.signalName} of ${run()}: ${reason}`);
          return;
        }
        return next(input);
      },
      validateUpdate(input, next) {
        refuse(`update ${input.name} of ${run()}`, input.args);
        return next(input);
      },
      async handleUpdate(input, next) {
        refuse(`update ${input.name} of ${run()}`, input.args);
        return next(input);
      },
      handleQuery(input, next) {
        refuse(`query ${input.queryName} of ${run()}`, input.args);
        return next(input);
      },
    },
  ],
});
