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
/** Config problems are final: the message names file and key; the next run reads the files again. */
export function configured<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof UserError) {
      // The CLI's wording says nothing was started; here the run has started and stops at this step.
      const message = err.message.replace('; nothing was started:', ':').replace(', then run the command again', ', then run the operation again');
      throw ApplicationFailure.nonRetryable(`${message}\nThe configuration is read again by the next run.`, FailureType.Config);
    }
    throw err;
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
