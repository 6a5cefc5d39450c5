import * as fs from 'node:fs';
import * as path from 'node:path';
import { isName, validateName } from '../../common/config/validators';
import { subdirectories } from '../../common/local-dirs';
import { UserError } from '../../common/errors';
import { isProductionRemote } from '../../common/production-remote';
import { GlobalArgs, pathsOf, remoteOf, withClient } from '../context';
import { defineCommand, type Command } from '../define-command';
import type { CliIO } from '../io';

/**
 * `ssw up`, `ssw down` and `ssw show` for one deployment of a remote. Every
 * input and the whole config are checked before anything starts; `--plan`
 * and `show` read the remote and print what `up` would do, changing nothing.
 */

export interface DeploymentArgs {
  deployment?: string;
  remote?: string;
  'skip-wwwserver': boolean;
  'skip-btcpayserver': boolean;
  'skip-lnplayserver': boolean;
  yes?: boolean;
  detach?: boolean;
  plan?: boolean;
  sequential?: boolean;
  purge?: boolean;
  'cert-renew'?: boolean;
  'restore-certs'?: boolean;
  'restore-wwwserver'?: boolean;
  'skip-wwwbackup'?: boolean;
  'instances-only'?: boolean;
  'wait-sync'?: boolean;
  'preload-chain'?: string;
  'sync-report-every'?: number;
}

export const targetOptions = {
  deployment: { type: 'string', describe: 'The deployment (LXD project) to act on, e.g. public' },
  remote: { type: 'string', describe: 'The remote it lives on', defaultDescription: 'the current remote' },
  'skip-wwwserver': { type: 'boolean', default: false, describe: 'Leave the www instance alone' },
  'skip-btcpayserver': { type: 'boolean', default: false, describe: 'Leave the btcpayserver instance alone' },
  'skip-lnplayserver': { type: 'boolean', default: false, describe: 'Leave the lnplayserver instance alone' },
} as const;

export function targetOf(args: GlobalArgs & DeploymentArgs) {
  if (!args.deployment) {
    const paths = pathsOf(args);
    const known = subdirectories(path.join(paths.root, 'projects')).filter(
      (d) => isName(d) && fs.existsSync(paths.projectConf(d)),
    );
    throw new UserError(
      `Name the deployment: --deployment NAME, a directory under ${path.join(paths.root, 'projects')} with a project.conf (${known.length ? `here: ${known.join(', ')}` : 'none yet; e.g. public'}); when the remote's remote.conf sets DEPLOYMENT_STRING, one of its entries.`,
    );
  }
  validateName('deployment', args.deployment);
  const remote = remoteOf(args);
  const skip = {
    ...(args['skip-wwwserver'] ? { www: true } : {}),
    ...(args['skip-btcpayserver'] ? { btcpayserver: true } : {}),
    ...(args['skip-lnplayserver'] ? { lnplayserver: true } : {}),
  };
  return { remote, deployment: args.deployment, ...(Object.keys(skip).length ? { skip } : {}) };
}

/** Config first (stubs, every problem at once), then the remote's record; throws UserError before any traffic. */
export async function checkConfig(
  args: GlobalArgs & DeploymentArgs,
  target: { remote: string; deployment: string },
  verb?: string,
): Promise<void> {
  const { loadDeploymentConfig } = await import('../../common/config');
  loadDeploymentConfig(pathsOf(args), target);
  if (verb) productionGuard(target, args, verb);
  const { readRemoteRecord } = await import('../../common/remotes');
  if (!readRemoteRecord(pathsOf(args), target.remote)) {
    throw new UserError(
      `Remote ${target.remote} is not under management here (${pathsOf(args).remoteRecord(target.remote)} is missing). Run "ssw remote add ${target.remote} HOST" first.`,
    );
  }
}

function productionGuard(target: { remote: string }, args: DeploymentArgs, verb: string): void {
  if (isProductionRemote(target.remote) && !args.yes) {
    throw new UserError(
      `Remote ${target.remote} is a production remote. Nothing was started. To ${verb} it, run the command again with --yes (ssw never asks mid-run).`,
    );
  }
}

/**
 * `--plan` and `show`: the read-only showDeployment workflow reads the remote
 * (the CLI never does), and the plan is printed here. Quiet: no "Started"
 * line or progress, only the plan (or its JSON).
 */
async function printPlan(
  io: CliIO,
  args: GlobalArgs & DeploymentArgs,
  target: ReturnType<typeof targetOf> & { instancesOnly?: boolean },
  showKeep: boolean,
): Promise<void> {
  const { formatPlan } = await import('../../common/deployment/plan');
  const { askReadOnly, ReadFailed } = await import('../read-only');
  const req = {
    operation: 'show' as const,
    target: { remote: target.remote, deployment: target.deployment },
    input: target,
    taskQueue: args['task-queue'],
  };
  const { plan } = await withClient(args, (client) =>
    askReadOnly(client, io, req).catch((err: unknown) => {
      if (err instanceof ReadFailed)
        throw new UserError(
          `Could not read deployment ${target.deployment} on remote ${target.remote}: ${err.message}`,
        );
      throw err;
    }),
  );
  if (args.json) {
    io.out(
      JSON.stringify(
        {
          remote: target.remote,
          deployment: target.deployment,
          empty: plan.empty,
          conflicts: plan.conflicts,
          items: plan.items,
        },
        null,
        2,
      ),
    );
    return;
  }
  io.out(`Deployment ${target.deployment} on remote ${target.remote}:`);
  for (const line of formatPlan(plan, { showKeep })) io.out(`  ${line}`);
}

/** "stack NAME: created a, b; reloaded c", or "stack NAME: unchanged". */
function stackLine(
  x: Record<'created' | 'replaced' | 'started' | 'reloaded' | 'rejoined' | 'removed', string[]> & { stack: string },
) {
  const done = Object.entries({
    created: x.created,
    replaced: x.replaced,
    started: x.started,
    reloaded: x.reloaded,
    rejoined: x.rejoined,
    removed: x.removed,
  }).filter(([, v]) => v.length);
  return `stack ${x.stack}: ${done.length ? done.map(([k, v]) => `${k} ${v.join(', ')}`).join('; ') : 'unchanged'}`;
}

/**
 * --preload-chain FROM: an absolute path to a directory holding blocks/ and chainstate/ (checked here, before any
 * workflow starts; the activity checks every file again).
 */
function preloadSource(from: string): string {
  const dir = path.resolve(from);
  const missing = ['blocks', 'chainstate'].filter(
    (d) => !fs.statSync(path.join(dir, d), { throwIfNoEntry: false })?.isDirectory(),
  );
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory() || missing.length) {
    throw new UserError(
      `--preload-chain ${from}: expected a directory on this machine holding a stopped Bitcoin node's blocks/ and chainstate/ (the chain's directory, e.g. ~/.bitcoin or ~/.bitcoin/testnet3), but ${fs.existsSync(dir) ? `${dir} has no ${missing.join(' or ')}/ directory` : `${dir} does not exist`}. Nothing was started.`,
    );
  }
  return dir;
}

export function upCommand(io: CliIO): Command {
  return defineCommand({
    command: 'up',
    describe:
      'Bring a deployment up (ss-up): project, network, base image, every instance in parallel, then the www services (certificates, proxy, apps); resumable',
    builder: (y) =>
      y.options(targetOptions).options({
        plan: {
          type: 'boolean',
          default: false,
          describe: 'Print what up would create, change, keep or delete, and change nothing',
        },
        yes: {
          type: 'boolean',
          default: false,
          describe: 'Confirm changing a production remote (name contains "prod")',
        },
        detach: {
          type: 'boolean',
          default: false,
          describe: 'Return once started, printing the workflow ID and the Web UI link',
        },
        sequential: {
          type: 'boolean',
          default: false,
          hidden: true,
          describe: 'Instances one after another, as ss did (benchmarks)',
        },
        'cert-renew': {
          type: 'boolean',
          default: true,
          describe: 'Obtain or renew the certificates that are due (--no-cert-renew keeps what the www instance has)',
        },
        'restore-certs': {
          type: 'boolean',
          default: false,
          describe: 'First put back the certificates saved on this machine (a rebuilt www instance)',
        },
        'restore-wwwserver': {
          type: 'boolean',
          default: false,
          describe: "Restore the apps' data from the latest backup before starting them",
        },
        'skip-wwwbackup': {
          type: 'boolean',
          default: false,
          describe: 'No backup of the www apps after a deploy that changed them',
        },
        'instances-only': {
          type: 'boolean',
          default: false,
          describe:
            'Bring up the instances and stop: no certificates or services (point DNS at them, then run up again)',
        },
        'wait-sync': {
          type: 'boolean',
          default: true,
          describe:
            "Wait for the Bitcoin node's chain sync (--no-wait-sync: up finishes, the wait runs on as chain-sync/REMOTE/DEPLOYMENT)",
        },
        'preload-chain': {
          type: 'string',
          describe:
            "A directory on this machine with a stopped node's blocks/ and chainstate/, copied into the new node before its first start",
        },
        'sync-report-every': {
          type: 'number',
          hidden: true,
          describe: 'Seconds between chain-sync reports (tests)',
        },
      }),
    handler: async (args) => {
      const target = targetOf(args);
      const preload = args['preload-chain'] !== undefined ? preloadSource(args['preload-chain']) : undefined;
      await checkConfig(args, target, args.plan ? undefined : 'change');
      if (args.plan)
        return printPlan(io, args, { ...target, ...(args['instances-only'] ? { instancesOnly: true } : {}) }, false);
      const { runOperation } = await import('../run-operation');
      await runOperation(
        io,
        args,
        'up',
        { remote: target.remote, deployment: target.deployment },
        {
          ...target,
          ...(args.yes ? { confirmed: true } : {}),
          ...(args.sequential ? { sequential: true } : {}),
          ...(args['cert-renew'] === false ? { noCertRenew: true } : {}),
          ...(args['restore-certs'] ? { restoreCerts: true } : {}),
          ...(args['restore-wwwserver'] ? { restoreWww: true } : {}),
          ...(args['skip-wwwbackup'] ? { skipBackup: true } : {}),
          ...(args['instances-only'] ? { instancesOnly: true } : {}),
          ...(preload ? { preloadChain: preload } : {}),
          ...(args['wait-sync'] === false ? { noWaitSync: true } : {}),
          ...(args['sync-report-every'] ? { syncReportEveryS: args['sync-report-every'] } : {}),
        },
        {
          text: (r) => {
            io.out(
              r.changes.length
                ? `${r.changes.length} change(s) applied.`
                : 'No changes: the deployment already matched the config.',
            );
            for (const i of r.instances) io.out(`${i.role}  ${i.name}  ${i.address}  host key ${i.hostKeyFingerprint}`);
            for (const name of r.removed) io.out(`removed ${name} (not in the config; its volumes are kept)`);
            for (const w of r.warnings ?? []) io.out(`WARNING: ${w}`);
            const b = r.btcpay;
            if (b) {
              for (const k of b.secretsAdded) io.out(`BTCPay: generated ${k} in the primary site's site.conf`);
              if (b.preload)
                io.out(
                  b.preload.skipped
                    ? 'chain pre-load: already there'
                    : `chain pre-load: ${b.preload.files} files, ${b.preload.bytes} bytes (${b.preload.bytesSent} sent)`,
                );
              for (const x of b.stacks) io.out(stackLine(x));
              for (const x of b.removedStacks) io.out(`stack ${x}: removed (no longer in the config)`);
              io.out(
                'waiting' in b.sync
                  ? `BTCPay: chain sync not waited for (--no-wait-sync); follow it with "ssw status ${b.sync.workflowId} --follow"`
                  : `BTCPay: node synced (${b.sync.summary}); BTCPay ${b.sync.gate === 'opened' ? 'takes payments' : 'is synced (its names were left closed)'}`,
              );
            }
            const s = r.services;
            if (!s) return;
            for (const c of s.certificates) io.out(`certificate ${c.domain}: ${c.action} (${c.detail})`);
            for (const x of s.stacks) io.out(stackLine(x));
            for (const x of s.removedStacks) io.out(`stack ${x}: removed (its site or app left the config)`);
            io.out(`Serving ${s.served.join(', ')}${s.backup === 'done' ? '; the apps were backed up' : ''}.`);
          },
        },
      );
    },
  });
}

export function downCommand(io: CliIO): Command {
  return defineCommand({
    command: 'down',
    describe: 'Take a deployment down (ss-down): delete its instances and profiles; volumes stay unless --purge',
    builder: (y) =>
      y.options(targetOptions).options({
        purge: {
          type: 'boolean',
          default: false,
          describe: "Also delete the instances' volumes (their data): asks first, or --yes",
        },
        yes: {
          type: 'boolean',
          default: false,
          describe: 'Confirm --purge, and changing a production remote, without asking',
        },
        detach: {
          type: 'boolean',
          default: false,
          describe: 'Return once started, printing the workflow ID and the Web UI link',
        },
        'skip-wwwbackup': {
          type: 'boolean',
          default: false,
          describe: 'Do not back up the www apps before removing them',
        },
      }),
    handler: async (args) => {
      const target = targetOf(args);
      await checkConfig(args, target, 'take down');
      if (args.purge && !args.yes) await confirmPurge(io, target);
      const { runOperation } = await import('../run-operation');
      await runOperation(
        io,
        args,
        'down',
        { remote: target.remote, deployment: target.deployment },
        {
          ...target,
          ...(args.purge ? { purge: true } : {}),
          ...(args.yes ? { confirmed: true } : {}),
          ...(args['skip-wwwbackup'] ? { skipBackup: true } : {}),
        },
        {
          text: (r) => {
            if (r.backup === 'done') io.out('Backed up the www apps (copied to this machine).');
            if (r.stacksRemoved.length) io.out(`Stopped and removed stacks ${r.stacksRemoved.join(', ')}.`);
            io.out(r.removed.length ? `Removed ${r.removed.join(', ')}.` : 'No instance was there.');
            if (r.volumesDeleted.length) io.out(`Deleted volumes ${r.volumesDeleted.join(', ')}.`);
            if (r.volumesKept.length)
              io.out(
                `Kept volumes ${r.volumesKept.join(', ')} (their data); "ssw up" attaches them again, "ssw down --purge" deletes them.`,
              );
            io.out(
              r.networkRemoved
                ? 'Removed the deployment network.'
                : 'The deployment network stays (in use, or not there).',
            );
            if (r.project?.deleted) io.out(`Deleted the LXD project ${target.deployment}.`);
            else if (r.project?.holds.length)
              io.out(`Kept the LXD project ${target.deployment}: it still holds ${r.project.holds.join(', ')}.`);
          },
        },
      );
    },
  });
}

/** --purge deletes data: on a terminal, the operator types the deployment's name; elsewhere --yes is required. */
async function confirmPurge(io: CliIO, target: { remote: string; deployment: string }): Promise<void> {
  if (!process.stdin.isTTY || !io.isTTY) {
    throw new UserError(
      `--purge deletes the volumes (all data) of deployment ${target.deployment} on remote ${target.remote}. Nothing was started. Add --yes to confirm without a prompt.`,
    );
  }
  const readline = await import('node:readline/promises');
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(
      `--purge deletes the volumes (all data) of deployment ${target.deployment} on remote ${target.remote}. Type the deployment's name to confirm: `,
    );
    if (answer.trim() !== target.deployment) throw new UserError('Not confirmed. Nothing was started.');
  } finally {
    rl.close();
  }
}

export function showCommand(io: CliIO): Command {
  return defineCommand({
    command: 'show',
    describe: 'What exists of a deployment on its remote versus what the config wants (ss-show); changes nothing',
    builder: (y) =>
      y.options(targetOptions).options({
        'instances-only': {
          type: 'boolean',
          default: false,
          describe: 'Leave out the services (stacks) on the www instance',
        },
      }),
    handler: async (args) => {
      const target = targetOf(args);
      await checkConfig(args, target);
      await printPlan(io, args, { ...target, ...(args['instances-only'] ? { instancesOnly: true } : {}) }, true);
    },
  });
}
