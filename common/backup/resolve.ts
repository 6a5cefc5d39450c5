import { loadDeploymentConfig, loadSiteConfig } from '../config';
import { UserError } from '../errors';
import type { SsPaths } from '../paths';
import type { CertTarget } from '../tls/plan';
import { readWwwHost } from '../tls/resolve';
import { backupUnits, DEFAULT_BACKUP_PATH, type BackupApp, type BackupPlan } from './plan';

/**
 * From a target (a deployment's www instance, or a host and its domains) and
 * the config to the units a backup or restore runs. Like the certificate
 * plan: checked by the CLI before anything starts, read again by the workflow.
 */
export function resolveBackupPlan(paths: SsPaths, target: CertTarget, opts: { apps?: BackupApp[] } = {}): BackupPlan {
  const apps = opts.apps ?? [];
  let plan: BackupPlan;
  if (target.kind === 'host') {
    const backupPath = target.host.backupPath ?? DEFAULT_BACKUP_PATH;
    const units = target.domains.flatMap((d) => backupUnits(loadSiteConfig(paths, d), target.host.dataPath, backupPath, apps));
    plan = { host: target.host, backupPath, units };
  } else {
    const config = loadDeploymentConfig(paths, { remote: target.remote, deployment: target.deployment });
    const known = config.sites.map((s) => s.domain);
    const unknown = (target.domains ?? []).filter((d) => !known.includes(d));
    if (unknown.length > 0) throw new UserError(`Deployment ${target.deployment} does not serve ${unknown.join(', ')}; its sites are ${known.join(', ')}.`);
    const host = readWwwHost(paths, target.remote, target.deployment);
    const backupPath = host.backupPath ?? DEFAULT_BACKUP_PATH;
    const sites = config.sites.filter((s) => !target.domains?.length || target.domains.includes(s.domain));
    plan = { host, backupPath, units: sites.flatMap((s) => backupUnits(s, host.dataPath, backupPath, apps)) };
  }
  if (plan.units.length === 0) throw new UserError(`Nothing to back up: none of the sites deploys ${apps.join(', ')}.`);
  return plan;
}
