import { proxyActivities, type ActivityOptions, type RetryPolicy } from '@temporalio/workflow';
import type { SswActivities } from '../activities';
import { FailureType, NON_RETRYABLE_FAILURE_TYPES } from '../common/failure-types';

/**
 * Every activity group the workflows use, declared once: its timeouts and its
 * retry policy. A workflow picks the groups its steps belong to (`hostSteps`,
 * `backupTransfers` …) and calls activities on them; it never spells options.
 *
 * Everywhere: faults classified as config, trust or auth (NON_RETRYABLE_FAILURE_TYPES)
 * fail at once; anything else (network, a busy host) retries with backoff, a
 * bounded number of times. Long steps heartbeat progress, so the heartbeat
 * timeout, not the start-to-close one, is how soon a dead worker is noticed.
 * Changing a group changes every workflow that uses it.
 */
function retry(policy: Pick<RetryPolicy, 'initialInterval' | 'maximumInterval' | 'maximumAttempts'>): RetryPolicy {
  return { backoffCoefficient: 2, ...policy, nonRetryableErrorTypes: NON_RETRYABLE_FAILURE_TYPES };
}

export const RETRY = {
  /** A read-only look at a host: a few quick tries, then the operator hears of it. */
  hostRead: retry({ initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5 }),
  /** SSH and LXD steps on a remote host or a single www host. */
  host: retry({ initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 8 }),
  /** A deployment's LXD and Docker steps (up, down): a remote may be busy for a minute. */
  deployment: retry({ initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 8 }),
  /** Backups, restores and drills: a transfer that keeps failing is reported after six tries. */
  backup: retry({ initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 6 }),
  /** Talking to the CA: a CA outage is waited out with long backoff; validation and rate-limit failures are final. */
  acme: retry({ initialInterval: '10s', maximumInterval: '10 minutes', maximumAttempts: 8 }),
  /** A question an operator waits on at the terminal (show, --plan): one retry, then the answer is the failure. */
  question: retry({ initialInterval: '1s', maximumAttempts: 2 }),
  /** A remote's status in a listing: asked once; a remote that does not answer is reported as such. */
  once: retry({ maximumAttempts: 1 }),
  /**
   * The chain-sync wait: the node may be restarting (a crash, an image update) for minutes. A stall is the wait's
   * verdict, not a fault to retry: the workflow fails with it at once (`ssw up` again waits again).
   */
  chainSync: {
    backoffCoefficient: 2,
    initialInterval: '2s',
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES, FailureType.ChainSyncStalled],
  },
  /** Waiting for the turn on a target: no attempt limit (the wait itself is bounded by its timeout). */
  turn: retry({ initialInterval: '2s', maximumInterval: '1 minute' }),
} satisfies Record<string, RetryPolicy>;

export const ACTIVITY_OPTIONS = {
  // SSH faults are transient (retry with backoff); trust and auth faults are not. The SSH activities
  // heartbeat while they wait: a dead worker is noticed in 30 s, not 2 minutes.
  /** check-host, cert status: read-only SSH steps. */
  hostRead: { startToCloseTimeout: '2 minutes', heartbeatTimeout: '30s', retry: RETRY.hostRead },
  /** Short SSH and LXD API steps (provisioning, certificates, reading config). */
  hostSteps: { startToCloseTimeout: '5 minutes', heartbeatTimeout: '30s', retry: RETRY.host },
  /** Package installation (LXD, storage tools) can take a while on a slow mirror; it heartbeats every few seconds. */
  hostInstall: { startToCloseTimeout: '40 minutes', heartbeatTimeout: '1 minute', retry: RETRY.host },
  /**
   * Installing certbot may take a while on a slow mirror. These steps heartbeat from certbot's and
   * apt's output and from probes of the SSH connection a few times per stall limit (0.75 × the
   * heartbeat timeout), so a short timeout is safe: a crashed worker costs 15 s, not a minute.
   */
  certbotInstall: { startToCloseTimeout: '20 minutes', heartbeatTimeout: '15s', retry: RETRY.host },
  /** Obtaining a certificate from the CA (heartbeats as certbot's). */
  acme: { startToCloseTimeout: '15 minutes', heartbeatTimeout: '15s', retry: RETRY.acme },
  /** Undoing provisioning: LXD API calls that do not heartbeat. */
  lxdTeardown: { startToCloseTimeout: '5 minutes', retry: RETRY.host },
  /** A deployment's short steps: plan, project, network, profile, volumes, records. */
  deploymentSteps: { startToCloseTimeout: '5 minutes', heartbeatTimeout: '20s', retry: RETRY.deployment },
  /**
   * Creating an instance copies the image (LXD calls, a timer heartbeat); the waits for an address or for SSH
   * poll for minutes, each finished SSH attempt heartbeating as progress.
   */
  instanceSetup: { startToCloseTimeout: '40 minutes', heartbeatTimeout: '20s', retry: RETRY.deployment },
  /** `ssw down`: removing instances and stacks (a shorter bound than bringing them up). */
  deploymentTeardown: { startToCloseTimeout: '20 minutes', heartbeatTimeout: '20s', retry: RETRY.deployment },
  /** The weekly base image build. */
  baseImage: { startToCloseTimeout: '3 hours', heartbeatTimeout: '30s', retry: RETRY.deployment },
  /**
   * Images (pulled, or copied air-gapped) and every container's readiness: long. They heartbeat progress (bytes,
   * files, containers ready; the SSH connection's probe while quiet), and an attempt that makes none for 15 s
   * (0.75 x the heartbeat timeout) fails, so the retry resumes (an image upload from its partial file).
   */
  stacks: { startToCloseTimeout: '2 hours', heartbeatTimeout: '20s', retry: RETRY.deployment },
  /** Short steps of backups, restores and drills: plan, SSH check. */
  backupSteps: { startToCloseTimeout: '5 minutes', heartbeatTimeout: '30s', retry: RETRY.backup },
  /**
   * duplicity and transfers of large apps take long; they heartbeat every 2-3 s, so a dead worker is noticed
   * in 20 s.
   */
  backupTransfers: { startToCloseTimeout: '12 hours', heartbeatTimeout: '20s', retry: RETRY.backup },
  /** show / --plan: reading the config and the remote and planning, while the operator waits. */
  planRead: { startToCloseTimeout: '5 minutes', heartbeatTimeout: '20s', retry: RETRY.question },
  /** remote list/show/remove: the remote's LXD, each request bounded by its own timeout. */
  remoteRead: { startToCloseTimeout: '2 minutes', retry: RETRY.once },
  /**
   * One round of the chain-sync wait (a minute, then the workflow reports and asks again); it heartbeats every poll
   * (2 s), so a dead worker is noticed in 30 s and the next attempt resumes from the last heartbeat.
   */
  chainSync: { startToCloseTimeout: '30 minutes', heartbeatTimeout: '30s', retry: RETRY.chainSync },
  /**
   * Copying a pre-loaded chain (tens of GB over SFTP, resumed by file and byte); it heartbeats the bytes it moves.
   */
  chainPreload: { startToCloseTimeout: '48 hours', heartbeatTimeout: '30s', retry: RETRY.backup },
  /** Waiting may last as long as the operation before it (a restore can take hours); it heartbeats while it polls. */
  turn: { startToCloseTimeout: '24 hours', heartbeatTimeout: '1 minute', retry: RETRY.turn },
} satisfies Record<string, ActivityOptions>;

export type ActivityGroup = keyof typeof ACTIVITY_OPTIONS;

const proxy = (group: ActivityGroup) => proxyActivities<SswActivities>(ACTIVITY_OPTIONS[group]);

/** The activities, one proxy per group: `hostSteps.sshCheck(…)` runs sshCheck with the hostSteps options. */
export const hostRead = proxy('hostRead');
export const hostSteps = proxy('hostSteps');
export const hostInstall = proxy('hostInstall');
export const certbotInstall = proxy('certbotInstall');
export const acme = proxy('acme');
export const lxdTeardown = proxy('lxdTeardown');
export const deploymentSteps = proxy('deploymentSteps');
export const instanceSetup = proxy('instanceSetup');
export const deploymentTeardown = proxy('deploymentTeardown');
export const baseImage = proxy('baseImage');
export const stacks = proxy('stacks');
export const backupSteps = proxy('backupSteps');
export const backupTransfers = proxy('backupTransfers');
export const planRead = proxy('planRead');
export const remoteRead = proxy('remoteRead');
export const turn = proxy('turn');
export const chainSync = proxy('chainSync');
export const chainPreload = proxy('chainPreload');
