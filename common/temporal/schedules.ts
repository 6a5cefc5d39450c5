import * as crypto from 'node:crypto';
import type { CertTarget } from '../tls/plan';
import { certOperationTarget } from '../tls/plan';
import { OPERATIONS, workflowIdFor, type OperationName } from './operations';

/**
 * The Temporal Schedules ssw keeps per deployment (or per single www host),
 * described as data so `ssw schedule install` can create them and tell
 * whether an existing one already matches. IDs are the operation's workflow
 * ID (`cert-renew/<remote>/<deployment>`); each run's ID gets the Schedule's
 * timestamp suffix.
 */

export interface ScheduleTime {
  hour: number;
  minute: number;
}

/** The operations ssw schedules; their IDs prefix the schedules `ssw schedule list` shows. */
export const SCHEDULE_KINDS = ['cert-renew', 'backup', 'backup-verify'] as const satisfies readonly OperationName[];
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

/**
 * What each schedule's runs are given. Checked against the workflows' own input
 * types where Schedules are created (client/start-operation.ts): common/ cannot
 * import workflow types.
 */
export interface ScheduleInputs {
  'cert-renew': { target: CertTarget; staging?: boolean; httpPort?: number; httpsPort?: number };
  backup: { target: CertTarget };
  'backup-verify': { target: CertTarget };
}

export interface ScheduleDefinition<K extends ScheduleKind = ScheduleKind> {
  scheduleId: string;
  /** The operation each run is (its name, its workflow, the SsOperation of its runs). */
  kind: K;
  /** OPERATIONS[kind].workflowType, kept here because the digest of existing schedules includes it. */
  workflowType: string;
  input: ScheduleInputs[K];
  at: ScheduleTime;
  /** Weekly on this day (e.g. SUNDAY); daily when unset. */
  dayOfWeek?: 'SUNDAY' | 'MONDAY' | 'TUESDAY' | 'WEDNESDAY' | 'THURSDAY' | 'FRIDAY' | 'SATURDAY';
  /** Random delay added to each run, so many deployments do not hit the CA in the same second. */
  jitterMinutes: number;
  timezone: string;
  /** How late a run missed while the server was down may still start. */
  catchupWindowMs: number;
  description: string;
}

/** "HH:MM" (24 h) to a time; throws a plain Error naming what is wrong. */
export function parseTimeOfDay(text: string): ScheduleTime {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (!m) throw new Error(`expected a time of day like 03:17 (24-hour HH:MM), got ${JSON.stringify(text)}`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

/**
 * A default time in a window (02:00-04:59 unless given), fixed per schedule ID:
 * spreads many deployments over the night while each keeps the same slot
 * across reinstalls.
 */
export function defaultTimeFor(scheduleId: string, fromHour = 2, hours = 3): ScheduleTime {
  const n = crypto.createHash('sha256').update(scheduleId).digest().readUInt16BE(0) % (hours * 60);
  return { hour: fromHour + Math.floor(n / 60), minute: n % 60 };
}

export interface CertRenewScheduleOptions {
  at?: ScheduleTime;
  jitterMinutes?: number;
  timezone?: string;
  /**
   * The port the CA validates http-01 on. @default unset: the deployment's PROXY_HTTP_PORT, else 80, read at each run
   */
  httpPort?: number;
  /**
   * The port the proxy serves HTTPS on. @default unset: the deployment's PROXY_HTTPS_PORT, else 443, read at each run
   */
  httpsPort?: number;
  staging?: boolean;
}

export function certRenewSchedule(
  target: CertTarget,
  opts: CertRenewScheduleOptions = {},
): ScheduleDefinition<'cert-renew'> {
  const scheduleId = workflowIdFor('cert-renew', certOperationTarget(target));
  return {
    scheduleId,
    kind: 'cert-renew',
    workflowType: OPERATIONS['cert-renew'].workflowType,
    input: {
      target,
      ...(opts.staging ? { staging: true } : {}),
      // Ports only when the operator named them: otherwise each run reads the deployment's
      // PROXY_HTTP_PORT/PROXY_HTTPS_PORT (else 80/443) as it is that day.
      ...(opts.httpPort !== undefined ? { httpPort: opts.httpPort } : {}),
      ...(opts.httpsPort !== undefined ? { httpsPort: opts.httpsPort } : {}),
    },
    at: opts.at ?? defaultTimeFor(scheduleId),
    jitterMinutes: opts.jitterMinutes ?? 60,
    timezone: opts.timezone ?? 'UTC',
    // A management machine that was off overnight still renews when it comes back the same day.
    catchupWindowMs: 24 * 3600_000,
    description: `Daily certificate renewal for ${describe(target)}`,
  };
}

export interface BackupScheduleOptions {
  at?: ScheduleTime;
  jitterMinutes?: number;
  timezone?: string;
}

/** Nightly backup (00:00-01:59 by default, before the certificate renewal's window). */
export function backupSchedule(target: CertTarget, opts: BackupScheduleOptions = {}): ScheduleDefinition<'backup'> {
  const scheduleId = workflowIdFor('backup', certOperationTarget(target));
  return {
    scheduleId,
    kind: 'backup',
    workflowType: OPERATIONS.backup.workflowType,
    input: { target },
    at: opts.at ?? defaultTimeFor(scheduleId, 0, 2),
    jitterMinutes: opts.jitterMinutes ?? 30,
    timezone: opts.timezone ?? 'UTC',
    catchupWindowMs: 12 * 3600_000,
    description: `Nightly backup for ${describe(target)}`,
  };
}

/** Weekly restore drill, Sunday 05:00-06:59 by default: after the night's backup, so it proves the newest one. */
export function drillSchedule(
  target: CertTarget,
  opts: Omit<BackupScheduleOptions, 'at'> = {},
): ScheduleDefinition<'backup-verify'> {
  const scheduleId = workflowIdFor('backup-verify', certOperationTarget(target));
  return {
    scheduleId,
    kind: 'backup-verify',
    workflowType: OPERATIONS['backup-verify'].workflowType,
    input: { target },
    at: defaultTimeFor(scheduleId, 5, 2),
    dayOfWeek: 'SUNDAY',
    jitterMinutes: opts.jitterMinutes ?? 30,
    timezone: opts.timezone ?? 'UTC',
    catchupWindowMs: 2 * 24 * 3600_000,
    description: `Weekly restore drill for ${describe(target)}`,
  };
}

function describe(target: CertTarget): string {
  return target.kind === 'deployment'
    ? `deployment ${target.deployment} on remote ${target.remote}`
    : `${target.domains.join(', ')} on ${target.host.ssh.host}`;
}

/** A short digest of everything that defines the schedule, kept in its note to detect drift. */
export function definitionDigest(def: ScheduleDefinition): string {
  const { scheduleId, kind, workflowType, input, at, dayOfWeek, jitterMinutes, timezone, catchupWindowMs } = def;
  return crypto
    .createHash('sha256')
    .update(
      JSON.stringify({
        scheduleId,
        kind,
        workflowType,
        input,
        at,
        dayOfWeek,
        jitterMinutes,
        timezone,
        catchupWindowMs,
      }),
    )
    .digest('hex')
    .slice(0, 12);
}

/** The note shown in the Web UI: what the schedule does and the digest of its definition. */
export function scheduleNote(def: ScheduleDefinition): string {
  return `${def.description} (ssw definition ${definitionDigest(def)})`;
}
