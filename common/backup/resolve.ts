import { loadDeploymentConfig, loadSiteConfig, type SiteConfig } from '../config';
import { DEFAULT_BACKUP_PATH } from '../hosts';
import { readWwwHost } from '../hosts/instance-record';
import { readRemoteRecord } from '../remotes';
import { UserError } from '../errors';
import type { SsPaths } from '../paths';
import type { CertTarget } from '../tls/plan';
import { backupUnits, DEFAULT_OFFSITE_PATH, type BackupApp, type BackupPlan } from './plan';

/** The off-site copy a site asks for: the named remote's SSH target (its host key was pinned when it was added). */
function offsiteOf(paths: SsPaths, site: SiteConfig) {
  if (!site.backupOffsiteRemote) return undefined;
  const rec = readRemoteRecord(paths, site.backupOffsiteRemote, 'ssh');
  if (!rec) {
    throw new UserError(
      `BACKUP_OFFSITE_REMOTE="${site.backupOffsiteRemote}" in ${paths.siteConf(site.domain)} names no remote of this machine ("ssw remote list" shows them; "ssw remote add" adds one).`,
    );
  }
  return {
    remote: rec.name ?? site.backupOffsiteRemote,
    ssh: rec.ssh,
    path: site.backupOffsitePath ?? DEFAULT_OFFSITE_PATH,
  };
}

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
    const units = target.domains.flatMap((d) => {
      const site = loadSiteConfig(paths, d);
      return backupUnits(site, target.host.dataPath, backupPath, apps, offsiteOf(paths, site));
    });
    plan = { host: target.host, backupPath, units };
  } else {
    const config = loadDeploymentConfig(paths, { remote: target.remote, deployment: target.deployment });
    const known = config.sites.map((s) => s.domain);
    const unknown = (target.domains ?? []).filter((d) => !known.includes(d));
    if (unknown.length > 0)
      throw new UserError(
        `Deployment ${target.deployment} does not serve ${unknown.join(', ')}; its sites are ${known.join(', ')}.`,
      );
    const host = readWwwHost(paths, target.remote, target.deployment);
    const backupPath = host.backupPath ?? DEFAULT_BACKUP_PATH;
    const sites = config.sites.filter((s) => !target.domains?.length || target.domains.includes(s.domain));
    plan = {
      host,
      backupPath,
      units: sites.flatMap((s) => backupUnits(s, host.dataPath, backupPath, apps, offsiteOf(paths, s))),
    };
  }
  if (plan.units.length === 0) throw new UserError(`Nothing to back up: none of the sites deploys ${apps.join(', ')}.`);
  return plan;
}
