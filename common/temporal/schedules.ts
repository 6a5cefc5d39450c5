import * as crypto from 'node:crypto';
import type { CertTarget } from '../tls/plan';
import { certOperationTarget } from '../tls/plan';
import { workflowIdFor } from './operations';

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

export interface ScheduleDefinition {
  scheduleId: string;
  kind: 'cert-renew';
  workflowType: string;
  input: unknown;
  at: ScheduleTime;
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
 * A default time between 02:00 and 04:59, fixed per schedule ID: spreads many
 * deployments over the night while each keeps the same slot across reinstalls.
 */
export function defaultTimeFor(scheduleId: string): ScheduleTime {
  const n = crypto.createHash('sha256').update(scheduleId).digest().readUInt16BE(0) % 180;
  return { hour: 2 + Math.floor(n / 60), minute: n % 60 };
}

export interface CertRenewScheduleOptions {
  at?: ScheduleTime;
  jitterMinutes?: number;
  timezone?: string;
  httpPort?: number;
  httpsPort?: number;
  staging?: boolean;
}

export function certRenewSchedule(target: CertTarget, opts: CertRenewScheduleOptions = {}): ScheduleDefinition {
  const scheduleId = workflowIdFor('cert-renew', certOperationTarget(target));
  const what = target.kind === 'deployment' ? `deployment ${target.deployment} on remote ${target.remote}` : `${target.domains.join(', ')} on ${target.host.ssh.host}`;
  return {
    scheduleId,
    kind: 'cert-renew',
    workflowType: 'renewCertificates',
    input: {
      target,
      ...(opts.staging ? { staging: true } : {}),
      httpPort: opts.httpPort ?? 80,
      httpsPort: opts.httpsPort ?? 443,
    },
    at: opts.at ?? defaultTimeFor(scheduleId),
    jitterMinutes: opts.jitterMinutes ?? 60,
    timezone: opts.timezone ?? 'UTC',
    // A management machine that was off overnight still renews when it comes back the same day.
    catchupWindowMs: 24 * 3600_000,
    description: `Daily certificate renewal for ${what}`,
  };
}

/** A short digest of everything that defines the schedule, kept in its note to detect drift. */
export function definitionDigest(def: ScheduleDefinition): string {
  const { scheduleId, kind, workflowType, input, at, jitterMinutes, timezone, catchupWindowMs } = def;
  return crypto
    .createHash('sha256')
    .update(JSON.stringify({ scheduleId, kind, workflowType, input, at, jitterMinutes, timezone, catchupWindowMs }))
    .digest('hex')
    .slice(0, 12);
}

/** The note shown in the Web UI: what the schedule does and the digest of its definition. */
export function scheduleNote(def: ScheduleDefinition): string {
  return `${def.description} (ssw definition ${definitionDigest(def)})`;
}

/** ID prefixes of the schedules ssw manages; `ssw schedule list` shows these only. */
export const SCHEDULE_KINDS = ['cert-renew'] as const;
