import { ApplicationFailure, type DataConverter } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { AesGcmPayloadCodec } from '../common/codec/aes-gcm-codec';
import { failureConverterPath } from '../common/codec/data-converter';
import { loadOrCreateKeyring } from '../common/codec/keyring';
import { firstRefusal, refusalMessage } from '../common/codec/refusal';
import { RefusingCodec } from '../common/codec/refusing-codec';
import { FailureType } from '../common/failure-types';

/**
 * What makes a worker run only what ssw itself encrypted. The Temporal
 * frontend has no authentication of its own (the embedded server), so
 * anything that reaches it can start a workflow, or run its own worker
 * whose workflows schedule activities on ssw's task queue. Neither holds the
 * payload key, so: the codec marks what it cannot decrypt, and these
 * interceptors turn a marked input into a non-retryable failure before any
 * code of the workflow or activity runs.
 */

/** The worker's data converter: the CLI's encryption, with refusals marked instead of thrown. */
export function workerDataConverter(payloadKeyFile: string): DataConverter {
  return {
    payloadCodecs: [new RefusingCodec(new AesGcmPayloadCodec(loadOrCreateKeyring(payloadKeyFile)))],
    failureConverterPath,
  };
}

/** The workflow interceptor module; it goes into the workflow bundle. */
export const refuseUnencryptedWorkflowsPath = require.resolve('../workflows/interceptors/refuse-unencrypted');

/** Activities refuse a marked input (an activity scheduled by someone else's workflow). */
export const refuseUnencryptedActivities: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    execute(input, next) {
      const reason = firstRefusal(input.args);
      if (reason !== undefined) {
        const { activityType, workflowType, workflowExecution } = ctx.info;
        throw ApplicationFailure.nonRetryable(
          refusalMessage(
            `activity ${activityType} (scheduled by workflow ${workflowType} ${workflowExecution?.workflowId})`,
            reason,
          ),
          FailureType.UnencryptedPayload,
        );
      }
      return next(input);
    },
  },
});

/** Worker options every ssw worker (and every test worker of ssw's workflows) sets. */
export function refusingWorkerOptions(payloadKeyFile: string): {
  dataConverter: DataConverter;
  interceptors: { activity: ActivityInterceptorsFactory[] };
} {
  return {
    dataConverter: workerDataConverter(payloadKeyFile),
    interceptors: { activity: [refuseUnencryptedActivities] },
  };
}
