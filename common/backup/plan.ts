/**
 * What a backup covers and where each piece lives, in ss's layout
 * (backup_www.sh): an app's data is `<data>/<app>/<domain>` on the www host,
 * its duplicity archive `<backups>/www/<app>/<domain>` beside it, and its copy
 * on the management machine `$SS_ROOT/sites/<domain>/backups/www/<app>`.
 * Pure: imported by the CLI, activities and workflows. Names only, no secret.
 */
import type { SshTarget, WwwHost } from '../hosts';

/** The apps ssw backs up per site, in the order they run. BTCPay's app-aware backup comes with the BTCPay issue. */
export const BACKUP_APPS = ['ghost', 'nextcloud', 'gitea', 'nostr', 'letsencrypt'] as const;
export type BackupApp = (typeof BACKUP_APPS)[number];

/** The last restore drill's result, kept beside each archive's copy on the management machine. */
export const DRILL_RECORD = '.ssw-last-drill.json';

/** Where off-site copies go on the off-site remote, unless BACKUP_OFFSITE_PATH says otherwise. */
export const DEFAULT_OFFSITE_PATH = '/home/ubuntu/ss-offsite';

/** One duplicity chain: one app of one site. A failure or crash redoes only this piece. */
export interface BackupUnit {
  domain: string;
  app: BackupApp;
  /** The app's data on the host. */
  source: string;
  /** The duplicity target directory on the host (file:// URL made from it). */
  archive: string;
  /** duplicity's --name: its local cache of the chain's signatures. */
  name: string;
  fullEveryDays: number;
  /** 0 keeps every backup. */
  keepDays: number;
  /** A second copy of the archive on another remote: its SSH target and the directory for this unit. */
  offsite?: { remote: string; ssh: SshTarget; dir: string };
}

export interface BackupPlan {
  host: WwwHost;
  /** The host's backup volume (archives and duplicity's cache). */
  backupPath: string;
  units: BackupUnit[];
}

export interface SiteBackupInput {
  domain: string;
  deploy: { ghost: boolean; nextcloud: boolean; gitea: boolean; nostr: boolean };
  backupFullEveryDays: number;
  backupKeepDays: number;
}

/** The site's deployed apps (and its certificates), each a unit; `only` narrows to the apps named. */
export function backupUnits(
  site: SiteBackupInput,
  dataPath: string,
  backupPath: string,
  only: BackupApp[] = [],
  offsite?: { remote: string; ssh: SshTarget; path: string },
): BackupUnit[] {
  const deployed: Record<BackupApp, boolean> = { ...site.deploy, letsencrypt: true };
  const data = dataPath.replace(/\/+$/, '');
  const backups = backupPath.replace(/\/+$/, '');
  return BACKUP_APPS.filter((app) => deployed[app] && (only.length === 0 || only.includes(app))).map((app) => ({
    domain: site.domain,
    app,
    source: `${data}/${app}/${site.domain}`,
    archive: `${backups}/www/${app}/${site.domain}`,
    name: `${site.domain}-${app}`,
    fullEveryDays: site.backupFullEveryDays,
    keepDays: site.backupKeepDays,
    ...(offsite
      ? {
          offsite: {
            remote: offsite.remote,
            ssh: offsite.ssh,
            dir: `${offsite.path.replace(/\/+$/, '')}/${site.domain}/${app}`,
          },
        }
      : {}),
  }));
}

export function isBackupApp(s: string): s is BackupApp {
  return (BACKUP_APPS as readonly string[]).includes(s);
}
