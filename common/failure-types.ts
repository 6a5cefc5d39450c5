/**
 * Every ApplicationFailure `type` ssw raises, in one place, so retry policies
 * (`nonRetryableErrorTypes`) and the CLI's error handler agree on the names.
 * Pure data: imported by workflows, activities and the client alike.
 */
export const FailureType = {
  /** A config file or flag is invalid; retrying cannot help. */
  Config: 'SswConfigError',
  /** An input to an activity failed validation (e.g. a name with shell metacharacters). */
  Validation: 'SswValidationError',
  /** The host presented a key different from the one pinned in known_hosts. */
  HostKeyMismatch: 'SswHostKeyMismatch',
  /** The host is not in known_hosts and this operation may not pin it. */
  HostKeyUnknown: 'SswHostKeyUnknown',
  /** The host refused our key (or any auth). */
  AuthFailed: 'SswAuthFailed',
  /** A command on a host exited non-zero in a way that retrying cannot fix. */
  CommandFailed: 'SswCommandFailed',
  /** A secret (key file, passphrase) is missing or wrong. */
  Secret: 'SswSecretError',
} as const;

export type FailureTypeName = (typeof FailureType)[keyof typeof FailureType];

/** Failure types no retry policy should ever retry. */
export const NON_RETRYABLE_FAILURE_TYPES: string[] = [
  FailureType.Config,
  FailureType.Validation,
  FailureType.HostKeyMismatch,
  FailureType.HostKeyUnknown,
  FailureType.AuthFailed,
  FailureType.Secret,
];
