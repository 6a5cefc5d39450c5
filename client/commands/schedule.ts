import type { Client, ScheduleHandle } from '@temporalio/client';
import { UserError } from '../../common/errors';
import type { ScheduleDefinition } from '../../common/temporal/schedules';
import type { CertTarget } from '../../common/tls/plan';
import {
  certTargetFromArgs,
  certTargetOptions,
  checkCertConfig,
  pinHostTarget,
  renewOptions,
  validPort,
  type CertTargetArgs,
} from '../cert-target';
import { GlobalArgs, pathsOf, withClient } from '../context';
import { defineCommand, defineGroup, type Command } from '../define-command';
import type { CliIO } from '../io';

/** Installing: the target, when to run, and how the renewal reaches the site. */
interface InstallArgs extends CertTargetArgs {
  at?: string;
  'backup-at'?: string;
  jitter: number;
  timezone: string;
  staging: boolean;
  'http-port'?: number;
  'https-port'?: number;
}

/** Acting on installed schedules: by ID, or every schedule of a target. */
interface ManageArgs extends CertTargetArgs {
  action: 'pause' | 'unpause' | 'trigger' | 'delete';
  id?: string;
  detach?: boolean;
}

const idPositional = {
  type: 'string',
  describe: 'Schedule ID as "ssw schedule list" shows it (or name the target with --deployment / --host)',
} as const;

export function scheduleCommand(io: CliIO): Command {
  const manageCommand = (action: 'pause' | 'unpause' | 'delete', describe: string) =>
    defineCommand({
      command: `${action} [id]`,
      describe,
      builder: (y) => y.positional('id', idPositional).options(certTargetOptions),
      handler: (args) => manageSchedules(io, { ...args, action }),
    });
  return defineGroup({
    name: 'schedule',
    describe:
      'Temporal Schedules per deployment: daily certificate renewal, nightly backup, weekly restore drill ' +
      '(install, list, pause, unpause, trigger, delete)',
    subcommands: [
      defineCommand({
        command: 'install',
        describe: "Create a target's schedules, or bring them up to date (a paused one stays paused)",
        builder: (y) =>
          y
            .options(certTargetOptions)
            .options(renewOptions)
            .options({
              at: {
                type: 'string',
                describe: 'Time of day (HH:MM, 24 h) of the daily certificate renewal',
                defaultDescription: 'a slot between 02:00 and 04:59 fixed per deployment',
              },
              'backup-at': {
                type: 'string',
                describe: 'Time of day of the nightly backup',
                defaultDescription: 'a slot between 00:00 and 01:59 fixed per deployment',
              },
              jitter: { type: 'number', default: 60, describe: 'Up to this many minutes of random delay per run' },
              timezone: { type: 'string', default: 'UTC', describe: 'Time zone of --at (IANA name)' },
            })
            .example('$0 schedule install --deployment public', 'Daily certificate renewal for deployment public'),
        handler: (args) => install(io, args),
      }),
      defineCommand({
        command: 'list',
        describe: "ssw's schedules: paused or active, next and last run, what is running",
        handler: (args) => list(io, args),
      }),
      manageCommand('pause', 'Pause schedules: no runs until unpaused'),
      manageCommand('unpause', 'Resume paused schedules'),
      defineCommand({
        command: 'trigger [id]',
        describe: "Run a schedule's action now and follow the run it starts",
        builder: (y) =>
          y
            .positional('id', idPositional)
            .options(certTargetOptions)
            .options({ detach: { type: 'boolean', default: false, describe: 'Return once the run has started' } })
            .example('$0 schedule trigger --deployment public', 'Run it now and follow it'),
        handler: (args) => manageSchedules(io, { ...args, action: 'trigger' }),
      }),
      manageCommand('delete', 'Delete schedules (runs already started are not affected)'),
    ],
  });
}

/** Pause, unpause, trigger or delete: by ID, or those of the target's schedules that exist. */
async function manageSchedules(io: CliIO, args: GlobalArgs & ManageArgs): Promise<void> {
  const ids = await idsFromArgs(args);
  await withClient(args, async (client) => {
    // Named by target: act on those of its schedules that exist.
    const existing = args.id
      ? ids
      : (await Promise.all(ids.map(async (id) => ((await describeRaw(client, id)) ? id : undefined)))).filter(
          (id): id is string => !!id,
        );
    if (existing.length === 0)
      throw new UserError(`No schedules for this target (${ids.join(', ')}). "ssw schedule install" creates them.`);
    if (args.action === 'trigger' && existing.length > 1)
      throw new UserError(`Name the schedule to trigger: ${existing.join(', ')}.`);
    for (const id of existing) await manage(io, args, client, id);
  });
}

async function definitionsFor(
  args: GlobalArgs & InstallArgs,
): Promise<{ target: CertTarget; defs: ScheduleDefinition[] }> {
  const { backupSchedule, certRenewSchedule, drillSchedule, parseTimeOfDay } =
    await import('../../common/temporal/schedules');
  const target = await certTargetFromArgs(args);
  const time = (flag: 'at' | 'backup-at') => {
    const v = args[flag];
    if (v === undefined) return undefined;
    try {
      return parseTimeOfDay(v);
    } catch (err) {
      throw new UserError(`--${flag}: ${(err as Error).message}.`);
    }
  };
  const at = time('at');
  const backupAt = time('backup-at');
  if (!Number.isInteger(args.jitter) || args.jitter < 0 || args.jitter > 720)
    throw new UserError(`--jitter must be 0-720 minutes, got ${args.jitter}.`);
  if (!isTimeZone(args.timezone))
    throw new UserError(
      `--timezone ${JSON.stringify(args.timezone)} is not an IANA time zone name (like UTC or Europe/Berlin).`,
    );
  for (const p of ['http-port', 'https-port'] as const) validPort(p, args[p]);
  await checkCertConfig(args, target, { staging: args.staging });
  const { resolveBackupPlan } = await import('../../common/backup/resolve');
  resolveBackupPlan(pathsOf(args), target);
  const defs = [
    certRenewSchedule(target, {
      at,
      jitterMinutes: args.jitter,
      timezone: args.timezone,
      staging: args.staging,
      httpPort: args['http-port'],
      httpsPort: args['https-port'],
    }),
    backupSchedule(target, { at: backupAt, timezone: args.timezone }),
    drillSchedule(target, { timezone: args.timezone }),
  ];
  return { target, defs };
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Creates each schedule, or brings an existing one to the definition (its paused state is kept). */
async function install(io: CliIO, args: GlobalArgs & InstallArgs): Promise<void> {
  const { target, defs } = await definitionsFor(args);
  const { ScheduleOverlapPolicy } = await import('@temporalio/client');
  const { scheduleNote, definitionDigest } = await import('../../common/temporal/schedules');
  const { scheduleActionFor } = await import('../start-operation');
  const results: Array<{ scheduleId: string; outcome: 'created' | 'updated' | 'unchanged'; nextRuns: string[] }> = [];
  await withClient(args, async (client) => {
    // Temporal answers: only now is a --host's key checked and a verified one pinned.
    await pinHostTarget(args, target);
    for (const def of defs) {
      const options = {
        spec: {
          calendars: [
            { hour: def.at.hour, minute: def.at.minute, ...(def.dayOfWeek ? { dayOfWeek: def.dayOfWeek } : {}) },
          ],
          jitter: def.jitterMinutes * 60_000,
          timezone: def.timezone,
        },
        action: scheduleActionFor(def, args['task-queue']),
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: def.catchupWindowMs, pauseOnFailure: true },
      };
      const handle = client.schedule.getHandle(def.scheduleId);
      const existing = await describeRaw(client, def.scheduleId);
      let outcome: 'created' | 'updated' | 'unchanged';
      if (!existing) {
        await client.schedule.create({ scheduleId: def.scheduleId, ...options, state: { note: scheduleNote(def) } });
        outcome = 'created';
      } else if (existing.note.includes(`ssw definition ${definitionDigest(def)}`)) {
        outcome = 'unchanged';
      } else {
        // A paused schedule stays paused (and keeps saying why): installing is not unpausing.
        const note = existing.paused ? `${scheduleNote(def)}; ${existing.note}` : scheduleNote(def);
        await handle.update((prev) => ({
          ...prev,
          ...options,
          state: { ...prev.state, paused: existing.paused, note },
        }));
        outcome = 'updated';
      }
      const described = await describeRaw(client, def.scheduleId);
      results.push({
        scheduleId: def.scheduleId,
        outcome,
        nextRuns: (described?.nextRuns ?? []).slice(0, 3).map((d) => d.toISOString()),
      });
    }
  });
  if (args.json) {
    io.out(JSON.stringify({ schedules: results }, null, 2));
    return;
  }
  for (const r of results) io.out(`${r.scheduleId}  ${r.outcome}; next runs ${r.nextRuns.join(', ') || 'none'}`);
}

/**
 * A schedule's state without decoding its action's arguments: the namespace may
 * hold schedules sealed with another machine's payload key, which `list` must
 * still show and `pause`/`delete` must still reach.
 */
interface RawSchedule {
  paused: boolean;
  note: string;
  nextRuns: Date[];
  recent: Array<{ workflowId: string; runId: string; takenAt: Date }>;
  running: Array<{ workflowId: string; runId: string }>;
}

async function describeRaw(client: Client, scheduleId: string): Promise<RawSchedule | undefined> {
  const { isGrpcServiceError } = await import('@temporalio/client');
  let res;
  try {
    res = await client.workflowService.describeSchedule({ namespace: client.options.namespace, scheduleId });
  } catch (err) {
    if (isGrpcServiceError(err) && err.code === 5 /* NOT_FOUND */) return undefined;
    throw err;
  }
  const { tsToMs } = await import('@temporalio/common');
  const time = (t: Parameters<typeof tsToMs>[0]) => new Date(t ? tsToMs(t) : 0);
  return {
    paused: !!res.schedule?.state?.paused,
    note: res.schedule?.state?.notes ?? '',
    nextRuns: (res.info?.futureActionTimes ?? []).map(time),
    recent: (res.info?.recentActions ?? []).map((a) => ({
      workflowId: a.startWorkflowResult?.workflowId ?? '',
      runId: a.startWorkflowResult?.runId ?? '',
      takenAt: time(a.actualTime),
    })),
    running: (res.info?.runningWorkflows ?? []).map((w) => ({ workflowId: w.workflowId ?? '', runId: w.runId ?? '' })),
  };
}

interface ListedSchedule {
  scheduleId: string;
  paused: boolean;
  note: string;
  nextRun: string | null;
  lastRun: { workflowId: string; startedAt: string } | null;
  running: string[];
}

async function list(io: CliIO, args: GlobalArgs): Promise<void> {
  const { SCHEDULE_KINDS } = await import('../../common/temporal/schedules');
  const rows: ListedSchedule[] = [];
  await withClient(args, async (client) => {
    for await (const summary of client.schedule.list()) {
      if (!SCHEDULE_KINDS.some((k) => summary.scheduleId.startsWith(`${k}/`))) continue;
      // The listing is eventually consistent; describe each for its current state.
      const d = await describeRaw(client, summary.scheduleId);
      if (!d) continue;
      const last = d.recent.at(-1);
      rows.push({
        scheduleId: summary.scheduleId,
        paused: d.paused,
        note: d.note,
        nextRun: d.nextRuns[0]?.toISOString() ?? null,
        lastRun: last ? { workflowId: last.workflowId, startedAt: last.takenAt.toISOString() } : null,
        running: d.running.map((r) => r.workflowId),
      });
    }
  });
  rows.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
  if (args.json) {
    io.out(JSON.stringify({ schedules: rows }, null, 2));
    return;
  }
  if (rows.length === 0) {
    io.out('No ssw schedules. "ssw schedule install --deployment D" creates them.');
    return;
  }
  for (const r of rows) {
    io.out(
      `${r.scheduleId}  ${r.paused ? 'PAUSED' : 'active'}  next ${r.nextRun ?? '-'}  last ${r.lastRun ? `${r.lastRun.startedAt} ${r.lastRun.workflowId}` : '-'}${r.running.length ? `  running ${r.running.join(', ')}` : ''}`,
    );
    if (r.paused) {
      const failed = /workflow failure: (\S+?):/.exec(r.note)?.[1];
      io.out(`  ${r.note}`);
      io.out(
        `  ${failed ? `"ssw status ${failed}" shows why; ` : ''}"ssw schedule unpause ${r.scheduleId}" resumes it`,
      );
    }
  }
}

async function idsFromArgs(args: GlobalArgs & ManageArgs): Promise<string[]> {
  if (args.id) return [args.id];
  if (!args.deployment && !args.host)
    throw new UserError(
      `Name the schedule: "ssw schedule ${args.action} <id>" (see "ssw schedule list"), or --deployment D / --host H --domain D.`,
    );
  const { backupSchedule, certRenewSchedule, drillSchedule } = await import('../../common/temporal/schedules');
  const target = await certTargetFromArgs(args);
  return [certRenewSchedule(target), backupSchedule(target), drillSchedule(target)].map((d) => d.scheduleId);
}

async function manage(io: CliIO, args: GlobalArgs & ManageArgs, client: Client, id: string): Promise<void> {
  const handle = client.schedule.getHandle(id);
  const before = await describeRaw(client, id);
  if (!before)
    throw new UserError(`No schedule ${id}. "ssw schedule list" shows them; "ssw schedule install" creates them.`);
  switch (args.action) {
    case 'pause':
      await handle.pause('paused with ssw schedule pause');
      io.out(args.json ? JSON.stringify({ scheduleId: id, paused: true }) : `${id}  paused`);
      return;
    case 'unpause':
      await handle.unpause('unpaused with ssw schedule unpause');
      io.out(args.json ? JSON.stringify({ scheduleId: id, paused: false }) : `${id}  active`);
      return;
    case 'delete':
      await handle.delete();
      io.out(
        args.json
          ? JSON.stringify({ scheduleId: id, deleted: true })
          : `${id}  deleted (runs already started are not affected)`,
      );
      return;
    case 'trigger':
      return trigger(io, args, client, handle, before);
  }
}

/** Runs the schedule's action now (its overlap policy applies) and follows the run it starts. */
async function trigger(
  io: CliIO,
  args: GlobalArgs & ManageArgs,
  client: Client,
  handle: ScheduleHandle,
  before: RawSchedule,
): Promise<void> {
  const seen = new Set([...before.recent, ...before.running].map((w) => w.workflowId));
  await handle.trigger();
  // The run appears in the description once the schedule has taken the action: poll for it.
  const deadline = Date.now() + 30_000;
  let started: { workflowId: string; runId: string } | undefined;
  let delay = 100;
  while (!started && Date.now() < deadline) {
    const d = await describeRaw(client, handle.scheduleId);
    started = [...(d?.running ?? []), ...(d?.recent ?? [])].find((w) => !seen.has(w.workflowId));
    if (!started) {
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 1000);
    }
  }
  if (!started) {
    const running = before.running.map((w) => w.workflowId);
    throw new UserError(
      running.length
        ? `${handle.scheduleId} did not start a run: ${running.join(', ')} is still running and the schedule skips overlapping runs.`
        : `${handle.scheduleId} did not start a run within 30 s. Is the Temporal server healthy? "ssw schedule list" shows its state.`,
    );
  }
  const { followWorkflow } = await import('../follow');
  const run = client.workflow.getHandle(started.workflowId, started.runId);
  if (args.detach) {
    io.out(
      args.json
        ? JSON.stringify({ scheduleId: handle.scheduleId, workflowId: started.workflowId })
        : `Started ${started.workflowId}`,
    );
    return;
  }
  if (!args.json) io.out(`Started ${started.workflowId}`);
  const result = await followWorkflow<unknown>(client, run, io, { quiet: args.json, taskQueue: args['task-queue'] });
  if (args.json)
    io.out(JSON.stringify({ scheduleId: handle.scheduleId, workflowId: started.workflowId, result }, null, 2));
  else io.out(`${started.workflowId} completed`);
}
