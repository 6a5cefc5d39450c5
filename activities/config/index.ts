import { ApplicationFailure } from '@temporalio/activity';
import { UserError } from '../../common/errors';
import { FailureType } from '../../common/failure-types';
import type { SsPaths } from '../../common/paths';
import type { BackupApp, BackupPlan } from '../../common/backup/plan';
import { resolveBackupPlan } from '../../common/backup/resolve';
import type { CertificatePlan, CertTarget } from '../../common/tls/plan';
import { resolveCertificatePlan } from '../../common/tls/resolve';

/**
 * The config files under $SS_ROOT on the management machine, read when a
 * workflow runs rather than copied into its input: a scheduled run follows
 * the config as it is today, and secrets in site.conf never reach history.
 * Invalid config is final (non-retryable) and names the file and key.
 */
/** A config problem (UserError) as the final failure of a run that has started; anything else as it is. */
function asConfigFailure(err: unknown): unknown {
  if (!(err instanceof UserError)) return err;
  // The CLI's wording says nothing was started; here the run has started and stops at this step.
  const message = err.message
    .replace('; nothing was started:', ':')
    .replace(', then run the command again', ', then run the operation again');
  return ApplicationFailure.nonRetryable(
    `${message}\nThe configuration is read again by the next run.`,
    FailureType.Config,
  );
}

/**
 * Config problems are final: the message names file and key; the next run
 * reads the files again. The one way an activity turns the config's
 * UserError into a failure, for reads that return a value or a promise.
 */
export function configured<T>(read: () => Promise<T>): Promise<T>;
export function configured<T>(read: () => T): T;
export function configured<T>(read: () => T | Promise<T>): T | Promise<T> {
  try {
    const value = read();
    return value instanceof Promise ? value.catch((err: unknown) => Promise.reject(asConfigFailure(err))) : value;
  } catch (err) {
    throw asConfigFailure(err);
  }
}

export function createConfigActivities({ paths }: { paths: SsPaths }) {
  async function planCertificates(target: CertTarget, opts: { staging?: boolean } = {}): Promise<CertificatePlan> {
    return configured(() => resolveCertificatePlan(paths, target, opts));
  }

  async function planBackup(target: CertTarget, opts: { apps?: BackupApp[] } = {}): Promise<BackupPlan> {
    return configured(() => resolveBackupPlan(paths, target, opts));
  }

  return { planCertificates, planBackup };
}
