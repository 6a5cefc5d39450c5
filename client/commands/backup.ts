import { BACKUP_APPS, DRILL_RECORD, isBackupApp, type BackupApp } from '../../common/backup/plan';
import { UserError } from '../../common/errors';
import type { BackupDeploymentResult } from '../../workflows/backup-deployment';
import type { RestoreDeploymentResult } from '../../workflows/restore-deployment';
import type { RestoreDrillResult } from '../../workflows/restore-drill';
import {
  certTargetFromArgs,
  certTargetOptions,
  domainsFromArgs,
  pinHostTarget,
  type CertTargetArgs,
} from '../cert-target';
import { GlobalArgs, pathsOf } from '../context';
import { defineCommand, defineGroup, type Command } from '../define-command';
import type { CliIO } from '../io';

interface BackupArgs extends CertTargetArgs {
  action?: 'verify';
  app?: string[];
  time?: string;
  detach: boolean;
}

/** `ssw backup list`: the archives here, filtered by site and app. */
interface ListArgs {
  domain?: string[];
  app?: string[];
}

function appsFrom(args: Pick<BackupArgs, 'app'>): BackupApp[] {
  const apps = (args.app ?? []).map(String);
  const bad = apps.filter((a) => !isBackupApp(a));
  if (bad.length) throw new UserError(`--app ${bad.join(', ')}: not an app ssw backs up (${BACKUP_APPS.join(', ')}).`);
  return apps as BackupApp[];
}

/** duplicity's --time forms that make sense here: an ISO date/time, or an age like 3D / 12h. */
function checkTime(t: string | undefined): string | undefined {
  if (t === undefined) return undefined;
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-](\d{2}):(\d{2}))?)?$/.exec(t);
  if (iso && isRealDateTime(iso.slice(1).map((n) => (n === undefined ? 0 : Number(n))))) return t;
  if (/^(\d+[smhDWMY])+$/.test(t)) return t;
  throw new UserError(
    `--time ${JSON.stringify(t)}: expected a date or time like 2026-11-20 or 2026-11-20T10:00:00Z, or an age like 3D (days), 12h, 2W.`,
  );
}

/** 2026-13-45 has the form of a date but is none: each field in range, the day in its month. */
function isRealDateTime([y, mo, d, h, mi, sec, , oh, om]: number[]): boolean {
  const date = new Date(Date.UTC(y!, mo! - 1, d!));
  const dayOk = date.getUTCFullYear() === y && date.getUTCMonth() === mo! - 1 && date.getUTCDate() === d;
  return dayOk && h! < 24 && mi! < 60 && sec! < 60 && oh! < 24 && om! < 60;
}

const WORKFLOWS = {
  backup: { operation: 'backup' },
  verify: { operation: 'backup-verify' },
  restore: { operation: 'restore' },
} as const;

const backupOptions = {
  ...certTargetOptions,
  app: { type: 'string', array: true, describe: `Only this app (repeatable): ${BACKUP_APPS.join(', ')}` },
  detach: { type: 'boolean', default: false, describe: 'Return once started, printing the workflow ID' },
} as const;

export function backupCommand(io: CliIO): Command {
  return defineGroup({
    name: 'backup',
    describe:
      'Encrypted, incremental duplicity backups of every app of every site, on the host and copied to this machine; ' +
      'verify: restore drill; list: the archives here',
    default: {
      does: 'back up',
      builder: (y) => y.options(backupOptions),
      handler: (args) => runBackup(io, 'backup', args),
    },
    subcommands: [
      defineCommand({
        command: 'verify',
        describe: 'Restore each latest backup into scratch on the host and verify it (the restore drill)',
        builder: (y) => y.options(backupOptions),
        handler: (args) => runBackup(io, 'backup', { ...args, action: 'verify' }),
      }),
      defineCommand({
        command: 'list',
        describe: 'The archives copied to this machine: chains, sizes, last verification (reads local files only)',
        builder: (y) =>
          y.options({
            domain: { type: 'string', array: true, describe: 'Only this site (repeatable)' },
            app: backupOptions.app,
          }),
        handler: (args) => listBackups(io, args),
      }),
    ],
  });
}

export function restoreCommand(io: CliIO): Command {
  return defineCommand({
    command: 'restore',
    describe: 'Restore apps from their backups (latest or --time); the live data is kept aside, never deleted',
    builder: (y) =>
      y.options(backupOptions).options({
        time: {
          type: 'string',
          describe: 'Restore as of this time (2026-11-20T10:00:00Z) or age (3D)',
          defaultDescription: 'the latest backup',
        },
      }),
    handler: (args) => runBackup(io, 'restore', args),
  });
}

async function runBackup(io: CliIO, kind: 'backup' | 'restore', args: GlobalArgs & BackupArgs): Promise<void> {
  const what = kind === 'restore' ? WORKFLOWS.restore : args.action === 'verify' ? WORKFLOWS.verify : WORKFLOWS.backup;
  const apps = appsFrom(args);
  const time = checkTime(args.time);
  const target = await certTargetFromArgs(args);
  const { resolveBackupPlan } = await import('../../common/backup/resolve');
  resolveBackupPlan(pathsOf(args), target, { apps }); // every config problem before anything starts
  const { certOperationTarget } = await import('../../common/tls/plan');
  const opTarget = certOperationTarget(target);
  const { workflowIdFor } = await import('../../common/temporal/operations');
  workflowIdFor(what.operation, opTarget); // throws on anything unusable, before any traffic
  const { runOperation } = await import('../run-operation');
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  await runOperation(
    io,
    args,
    what.operation,
    opTarget,
    { target, ...(apps.length ? { apps } : {}), ...(time ? { time } : {}) },
    {
      text: (result) => {
        if (what === WORKFLOWS.verify) {
          for (const a of (result as RestoreDrillResult).apps)
            io.out(
              `${a.domain} ${a.app}  ${!a.ok ? `FAILED: ${a.error}` : a.backupTime ? `restores: backup of ${a.backupTime}, ${a.restoredFiles} files verified` : 'no backup yet'}`,
            );
        } else if (kind === 'backup') {
          for (const a of (result as BackupDeploymentResult).apps) {
            io.out(
              `${a.domain} ${a.app}  ${a.kind}; archive ${a.archiveFiles} files, ${mb(a.archiveBytes)}; ${mb(a.pulledBytes)} copied here${a.offsite ? `, ${mb(a.offsite.sentBytes)} to ${a.offsite.remote}` : ''}`,
            );
          }
        } else {
          for (const a of (result as RestoreDeploymentResult).apps) {
            if (a.restoredTo === null) io.out(`${a.domain} ${a.app}  nothing to restore`);
            else
              io.out(
                `${a.domain} ${a.app}  restored to ${a.restoredTo}${a.pushedBytes ? ` (${mb(a.pushedBytes)} of archive sent to the host)` : ''}${a.previousKeptAt ? `; the previous data is kept at ${a.previousKeptAt}` : ''}`,
              );
          }
        }
      },
    },
    { beforeStart: () => pinHostTarget(args, target) },
  );
}

/**
 * The archives copied to this machine, per site and app: chains, sizes, times, and the last drill. Reads local files
 * only.
 */
async function listBackups(io: CliIO, args: GlobalArgs & ListArgs): Promise<void> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { parseChains } = await import('../../common/backup/chains');
  const { isDirectory, subdirectories } = await import('../../common/local-dirs');
  const { isDomainName } = await import('../../common/config/validators');
  const paths = pathsOf(args);
  const sitesDir = path.join(paths.root, 'sites');
  // A name on the command line becomes a path under $SS_ROOT: only domain names, never "..".
  const domains = args.domain?.length ? domainsFromArgs(args) : subdirectories(sitesDir).filter(isDomainName);
  const apps = appsFrom(args);
  const rows = [];
  for (const domain of domains) {
    const base = path.join(paths.siteDir(domain), 'backups', 'www');
    // Entries that are not directories (a stray file, a half-made site) are skipped, not fatal.
    for (const app of isDirectory(base) ? subdirectories(base) : []) {
      if (!isBackupApp(app) || (apps.length && !apps.includes(app))) continue;
      const dir = path.join(base, app);
      const files = fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isFile() && e.name.startsWith('duplicity-') && !e.name.includes('.partial'))
        .map((e) => ({ name: e.name, size: fs.statSync(path.join(dir, e.name)).size }));
      let lastDrill = null;
      try {
        lastDrill = JSON.parse(fs.readFileSync(path.join(dir, DRILL_RECORD), 'utf8'));
      } catch {
        // never verified
      }
      rows.push({ domain, app, chains: parseChains(files), lastDrill });
    }
  }
  if (args.json) {
    io.out(JSON.stringify({ backups: rows }, null, 2));
    return;
  }
  if (rows.length === 0) {
    io.out(`No backups under ${sitesDir}. "ssw backup" makes them.`);
    return;
  }
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  for (const r of rows) {
    const d = r.lastDrill;
    const drill = !d
      ? 'never verified'
      : d.ok
        ? `verified ${d.verifiedAt} (backup of ${d.backupTime}: recovery point ${Math.round((Date.now() - Date.parse(d.backupTime)) / 3600_000)} h old)`
        : `LAST DRILL FAILED ${d.verifiedAt}: ${d.error}`;
    io.out(`${r.domain} ${r.app}  ${drill}`);
    for (const c of r.chains) {
      io.out(`  full         ${c.full.time}  ${mb(c.full.bytes)}`);
      for (const i of c.incrementals) io.out(`  incremental  ${i.time}  ${mb(i.bytes)}`);
    }
  }
}
