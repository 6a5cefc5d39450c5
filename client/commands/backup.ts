import type { CommandModule } from 'yargs';
import { BACKUP_APPS, isBackupApp, type BackupApp } from '../../common/backup/plan';
import { UserError } from '../../common/errors';
import type { BackupDeploymentResult } from '../../workflows/backup-deployment';
import type { RestoreDeploymentResult } from '../../workflows/restore-deployment';
import { certTargetFromArgs, certTargetOptions, type CertTargetArgs } from '../cert-target';
import { GlobalArgs, pathsOf, withClient } from '../context';
import type { CliIO } from '../io';

interface BackupArgs extends CertTargetArgs {
  app?: string[];
  time?: string;
  detach: boolean;
}

function appsFrom(args: BackupArgs): BackupApp[] {
  const apps = (args.app ?? []).map(String);
  const bad = apps.filter((a) => !isBackupApp(a));
  if (bad.length) throw new UserError(`--app ${bad.join(', ')}: not an app ssw backs up (${BACKUP_APPS.join(', ')}).`);
  return apps as BackupApp[];
}

/** duplicity's --time forms that make sense here: an ISO date/time, or an age like 3D / 12h. */
function checkTime(t: string | undefined): string | undefined {
  if (t === undefined) return undefined;
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?)?$/.test(t) || /^(\d+[smhDWMY])+$/.test(t)) return t;
  throw new UserError(`--time ${JSON.stringify(t)}: expected a date or time like 2026-11-20 or 2026-11-20T10:00:00Z, or an age like 3D (days), 12h, 2W.`);
}

function command(io: CliIO, kind: 'backup' | 'restore'): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: kind,
    describe:
      kind === 'backup'
        ? 'Encrypted, incremental duplicity backups of every app of every site, on the host and copied to this machine'
        : 'Restore apps from their backups (latest or --time); the live data is kept aside, never deleted',
    builder: (y) =>
      y
        .options(certTargetOptions)
        .options({
          app: { type: 'string', array: true, describe: `Only this app (repeatable): ${BACKUP_APPS.join(', ')}` },
          ...(kind === 'restore' ? { time: { type: 'string', describe: 'Restore as of this time (2026-11-20T10:00:00Z) or age (3D)', defaultDescription: 'the latest backup' } } : {}),
          detach: { type: 'boolean', default: false, describe: 'Return once started, printing the workflow ID' },
        }),
    handler: async (argv) => {
      const args = argv as unknown as GlobalArgs & BackupArgs;
      const apps = appsFrom(args);
      const time = checkTime(args.time);
      const target = await certTargetFromArgs(args);
      const { resolveBackupPlan } = await import('../../common/backup/resolve');
      resolveBackupPlan(pathsOf(args), target, { apps }); // every config problem before anything starts
      const { certOperationTarget } = await import('../../common/tls/plan');
      const opTarget = certOperationTarget(target);
      await withClient(args, async (client) => {
        const { startOperation } = await import('../start-operation');
        const { followWorkflow } = await import('../follow');
        const { handle, attached } = await startOperation(client, {
          operation: kind,
          workflowType: kind === 'backup' ? 'backupDeployment' : 'restoreDeployment',
          target: opTarget,
          args: [{ target, ...(apps.length ? { apps } : {}), ...(time ? { time } : {}) }],
          taskQueue: args['task-queue'],
        });
        if (args.detach) {
          io.out(args.json ? JSON.stringify({ workflowId: handle.workflowId, attached }) : `${attached ? 'Already running' : 'Started'} ${handle.workflowId}`);
          return;
        }
        if (!args.json) io.out(`${attached ? 'Already running; following' : 'Started'} ${handle.workflowId}`);
        const result = await followWorkflow<BackupDeploymentResult | RestoreDeploymentResult>(client, handle, io, { quiet: args.json, taskQueue: args['task-queue'] });
        if (args.json) {
          io.out(JSON.stringify({ workflowId: handle.workflowId, result }, null, 2));
          return;
        }
        const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
        if (kind === 'backup') {
          for (const a of (result as BackupDeploymentResult).apps) io.out(`${a.domain} ${a.app}  ${a.kind}; archive ${a.archiveFiles} files, ${mb(a.archiveBytes)}; ${mb(a.pulledBytes)} copied here`);
        } else {
          for (const a of (result as RestoreDeploymentResult).apps) {
            io.out(`${a.domain} ${a.app}  restored to ${a.restoredTo}${a.pushedBytes ? ` (${mb(a.pushedBytes)} of archive sent to the host)` : ''}${a.previousKeptAt ? `; the previous data is kept at ${a.previousKeptAt}` : ''}`);
          }
        }
      });
    },
  };
}

export const backupCommand = (io: CliIO) => command(io, 'backup');
export const restoreCommand = (io: CliIO) => command(io, 'restore');
