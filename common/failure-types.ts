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
  /** The SSH user may not do what the operation needs (not root, no passwordless sudo). */
  Privileges: 'SswPrivilegesError',
  /** A secret (key file, passphrase) is missing or wrong. */
  Secret: 'SswSecretError',
  /** The LXD/Incus API refused a request (4xx other than auth) or an operation failed; retrying cannot help. */
  LxdApi: 'SswLxdApiError',
  /** The LXD/Incus server's TLS certificate is not the pinned one; nothing was sent to it. */
  LxdCertMismatch: 'SswLxdCertMismatch',
  /** The LXD/Incus server answered 5xx, or an operation did not finish in time; retrying may help. */
  LxdServerError: 'SswLxdServerError',
  /** The LXD/Incus API could not be reached (refused, reset, timed out); retrying may help. */
  LxdUnreachable: 'SswLxdUnreachable',
  /** The ACME server refused to validate a name (DNS, connection, wrong content, CAA): fix DNS or the proxy first. */
  AcmeValidation: 'SswAcmeValidation',
  /** The ACME server's rate limit was hit; retrying now only makes it worse. */
  AcmeRateLimited: 'SswAcmeRateLimited',
  /** The ACME server refused the order itself (a name it will not issue for, a bad contact). */
  AcmeRejected: 'SswAcmeRejected',
  /** The ACME server could not be reached or answered 5xx/badNonce; retrying may help. */
  AcmeUnreachable: 'SswAcmeUnreachable',
  /** The web server on port 80 does not serve the ACME challenge directory; fix its config first. */
  ChallengeNotServed: 'SswChallengeNotServed',
  /** The backup asked for does not exist (on the host nor on the management machine). */
  BackupMissing: 'SswBackupMissing',
  /** A backup archive's content does not match its manifest (damaged volume). */
  BackupCorrupt: 'SswBackupCorrupt',
  /** A disk filled up; retrying fills it again. */
  DiskFull: 'SswDiskFull',
  /** A restore drill found backups that do not restore. */
  DrillFailed: 'SswDrillFailed',
  /**
   * A workflow or activity input was not encrypted with this machine's payload key: it did not come from ssw, so it is
   * not run.
   */
  UnencryptedPayload: 'SswUnencryptedPayload',
  /**
   * A long step (a transfer, a command on a host) made no progress for its stall limit and was abandoned; the retry
   * resumes it.
   */
  Stalled: 'SswStalled',
  /** A wait for a condition (an address, SSH answering, a file appearing) did not end in time; retrying may help. */
  Timeout: 'SswTimeout',
  /**
   * A Bitcoin node's chain sync made no progress for BITCOIN_SYNC_STALL_SECONDS; the node keeps running, and
   * `ssw up` again waits again.
   */
  ChainSyncStalled: 'SswChainSyncStalled',
} as const;

/** Failure types no retry policy should ever retry. */
export const NON_RETRYABLE_FAILURE_TYPES: string[] = [
  FailureType.Config,
  FailureType.Validation,
  FailureType.HostKeyMismatch,
  FailureType.HostKeyUnknown,
  FailureType.AuthFailed,
  FailureType.Secret,
  FailureType.LxdApi,
  FailureType.LxdCertMismatch,
  FailureType.Privileges,
  FailureType.AcmeValidation,
  FailureType.AcmeRateLimited,
  FailureType.AcmeRejected,
  FailureType.ChallengeNotServed,
  FailureType.BackupMissing,
  FailureType.BackupCorrupt,
  FailureType.DiskFull,
  FailureType.DrillFailed,
  FailureType.UnencryptedPayload,
];
