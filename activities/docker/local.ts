import { ApplicationFailure } from '@temporalio/common';
import Docker from 'dockerode';
import { FailureType } from '../../common/failure-types';

/** The management machine's Docker: $DOCKER_HOST (unix://...) or the default socket. */
export function localDocker(): Docker {
  const host = process.env.DOCKER_HOST;
  if (host && !host.startsWith('unix://')) {
    throw ApplicationFailure.nonRetryable(
      `DOCKER_HOST=${host}: ssw reads local images only from a unix socket (unix:///path)`,
      FailureType.Validation,
    );
  }
  return new Docker(host ? { socketPath: host.slice('unix://'.length) } : {});
}
