import { ssBridges } from '../../common/backend';
import * as fs from 'node:fs';
import type { Client } from '@temporalio/client';
import { validateName } from '../../common/config/validators';
import { UserError } from '../../common/errors';
import type { SsPaths } from '../../common/paths';
import {
  currentRemote,
  listRemoteNames,
  readRemoteRecord,
  RemoteRecord,
  setCurrentRemote,
  usableRemoteRecord,
} from '../../common/remotes';
import type { DescribeRemoteResult } from '../../workflows/describe-remote';
import { GlobalArgs, pathsOf, withClient } from '../context';
import { defineCommand, defineGroup, type Command } from '../define-command';
import type { CliIO } from '../io';
import { remoteAddCommand } from './remote-add';

/** The remote named, or the current one; must have been provisioned. */
function recordOf(paths: SsPaths, name: string | undefined): RemoteRecord {
  const remote = name ?? currentRemote(paths);
  if (!remote) throw new UserError('No remote given and no current remote: name one, or run "ssw remote switch NAME".');
  validateName('remote', remote);
  const rec = readRemoteRecord(paths, remote);
  if (!rec)
    throw new UserError(
      `Remote ${remote} is not provisioned (no ${paths.remoteRecord(remote)}). Run "ssw remote add ${remote} HOST".`,
    );
  return rec;
}

/**
 * What the remote's LXD has, read by the describeRemote workflow (a worker
 * talks to LXD, never the CLI). A remote that cannot be read rejects with
 * ReadFailed carrying LXD's message.
 */
async function describeRemote(
  client: Client,
  io: CliIO,
  args: GlobalArgs,
  rec: RemoteRecord,
  detail: 'summary' | 'full',
  requestTimeoutMs: number,
): Promise<DescribeRemoteResult> {
  const { askReadOnly } = await import('../read-only');
  return askReadOnly(client, io, {
    operation: 'describe-remote',
    target: { remote: rec.name },
    input: { remote: rec.name, detail, requestTimeoutMs },
    taskQueue: args['task-queue'],
  });
}

/** Deployments are LXD projects other than "default". */
function deploymentsOf(d: DescribeRemoteResult): string[] {
  return d.projects.filter((n) => n !== 'default').sort();
}

function listCommand(io: CliIO): Command {
  return defineCommand({
    command: 'list',
    describe: 'Remotes under management: host, backend, reachability, deployments',
    handler: async (args) => {
      const paths = pathsOf(args);
      const current = currentRemote(paths);
      const { ReadFailed } = await import('../read-only');
      const records = listRemoteNames(paths).map((name) => ({ name, rec: readRemoteRecord(paths, name) }));
      const describeAll = async (client?: Client) => {
        const rows = [];
        for (const { name, rec } of records) {
          const row = {
            name,
            current: name === current,
            host: rec?.ssh.host,
            backend: rec ? `${rec.backend} ${rec.version}` : undefined,
            provisioned: !!rec,
            reachable: false,
            deployments: [] as string[],
            error: undefined as string | undefined,
          };
          if (rec && client) {
            try {
              const d = await describeRemote(client, io, args, rec, 'summary', 5000);
              row.reachable = d.auth === 'trusted';
              row.deployments = deploymentsOf(d);
            } catch (err) {
              if (!(err instanceof ReadFailed)) throw err;
              row.error = err.message;
            }
          }
          rows.push(row);
        }
        return rows;
      };
      // Temporal is asked only when there is a provisioned remote to describe.
      const rows = records.some((r) => r.rec) ? await withClient(args, describeAll) : await describeAll();
      if (args.json) return io.out(JSON.stringify(rows, null, 2));
      if (rows.length === 0) return io.out('No remotes yet. Add one with: ssw remote add NAME HOST');
      io.out(
        `  ${'NAME'.padEnd(16)} ${'HOST'.padEnd(24)} ${'BACKEND'.padEnd(14)} ${'REACHABLE'.padEnd(10)} DEPLOYMENTS`,
      );
      for (const r of rows) {
        const reach = !r.provisioned ? 'not provisioned' : r.reachable ? 'yes' : 'NO';
        io.out(
          `${r.current ? '*' : ' '} ${r.name.padEnd(16)} ${(r.host ?? '-').padEnd(24)} ${(r.backend ?? '-').padEnd(14)} ${reach.padEnd(10)} ${r.deployments.join(', ') || '-'}`,
        );
      }
    },
  });
}

function showCommand(io: CliIO): Command {
  return defineCommand({
    command: 'show [name]',
    describe: 'What a remote has: storage, networks, deployments (projects), instances',
    builder: (y) => y.positional('name', { type: 'string', describe: 'Remote (default: the current one)' }),
    handler: async (args) => {
      const paths = pathsOf(args);
      const rec = recordOf(paths, args.name);
      const d = await withClient(args, (client) => describeRemote(client, io, args, rec, 'full', 10000));
      const doc = {
        remote: rec.name,
        endpoint: rec.endpoint,
        backend: `${d.server ?? rec.backend} ${d.serverVersion ?? rec.version}`,
        storagePools: d.storagePools ?? [],
        networks: d.networks ?? [],
        projects: d.projects,
        instances: d.instances ?? [],
      };
      if (args.json) return io.out(JSON.stringify(doc, null, 2));
      io.out(`Remote ${doc.remote}: ${doc.backend} at ${doc.endpoint}`);
      io.out('  storage pools');
      for (const p of doc.storagePools) io.out(`    ${p.name} (${p.driver}, ${p.status}, used by ${p.usedBy})`);
      io.out('  networks');
      for (const n of doc.networks)
        io.out(`    ${n.name} ${n.type} ${n.address ?? ''} ${n.description ? `"${n.description}"` : ''}`.trimEnd());
      io.out(`  projects  ${doc.projects.join(', ')}`);
      io.out('  instances');
      if (doc.instances.length === 0) io.out('    (none)');
      for (const i of doc.instances) io.out(`    ${i.project}/${i.name} ${i.type} ${i.status}`);
    },
  });
}

function switchCommand(io: CliIO): Command {
  return defineCommand({
    command: 'switch <name>',
    describe: 'Make a remote the current one (the default for later commands)',
    builder: (y) => y.positional('name', { type: 'string', demandOption: true }),
    handler: async (args) => {
      const paths = pathsOf(args);
      validateName('remote', args.name);
      if (!listRemoteNames(paths).includes(args.name)) {
        throw new UserError(
          `There is no remote ${args.name} under ${paths.root}/remotes. "ssw remote list" shows them.`,
        );
      }
      setCurrentRemote(paths, args.name);
      io.out(args.json ? JSON.stringify({ current: args.name }) : `${args.name} is now the current remote.`);
    },
  });
}

interface RemoveArgs {
  name: string;
  force: boolean;
  deprovision: boolean;
  yes: boolean;
}

function removeCommand(io: CliIO): Command {
  return defineCommand({
    command: 'remove <name>',
    describe: 'Forget a remote (the host is left as it is unless --deprovision)',
    builder: (y) =>
      y.positional('name', { type: 'string', demandOption: true }).options({
        force: {
          type: 'boolean',
          default: false,
          describe: 'Forget it even if deployments exist or it is unreachable',
        },
        deprovision: {
          type: 'boolean',
          default: false,
          describe: 'Also undo on the host what "remote add" did (bridges, pool, trust)',
        },
        yes: { type: 'boolean', default: false, describe: 'Confirm --deprovision' },
      }),
    handler: async (args) => {
      const paths = pathsOf(args);
      validateName('remote', args.name);
      if (!listRemoteNames(paths).includes(args.name))
        throw new UserError(`There is no remote ${args.name}; "ssw remote list" shows them.`);
      const rec = readRemoteRecord(paths, args.name);
      if (args.deprovision && !args.yes) {
        const b = ssBridges(rec?.backend ?? 'lxd');
        throw new UserError(
          `--deprovision deletes the bridges ${b.nat}/${b.ovn} and the storage pool ss-base on ${args.name}'s host and revokes this machine's certificate. Add --yes to confirm.`,
        );
      }
      if (rec) {
        const { ReadFailed } = await import('../read-only');
        let deployments: string[] | undefined;
        try {
          deployments = deploymentsOf(
            await withClient(args, (client) => describeRemote(client, io, args, rec, 'summary', 5000)),
          );
        } catch (err) {
          if (!args.force && !(err instanceof ReadFailed)) throw err;
          if (!args.force) {
            throw new UserError(
              `Cannot check ${args.name} for deployments (${(err as Error).message}). Use --force to forget it anyway.`,
            );
          }
        }
        if (deployments?.length && (!args.force || args.deprovision)) {
          throw new UserError(
            `${args.name} still has deployments: ${deployments.join(', ')}. Bring them down first ("ssw down --deployment D --purge")` +
              (args.deprovision
                ? '; deprovisioning never removes deployments.'
                : ', or use --force to forget the remote anyway (the host keeps them).'),
          );
        }
        if (args.deprovision) await runDeprovision(args, io, rec);
        // Forget the host key only if "remote add" pinned it and no other remote uses that host.
        const shared = listRemoteNames(paths).some((n) => {
          const other = n !== args.name ? usableRemoteRecord(paths, n) : undefined;
          return other?.ssh.host === rec.ssh.host && other.ssh.port === rec.ssh.port;
        });
        if (rec.pinnedHostKeyType && !shared) {
          (await import('../first-contact')).forgetPinnedHostKey(
            paths.knownHosts,
            rec.ssh.host,
            rec.ssh.port,
            rec.pinnedHostKeyType,
          );
        }
        fs.rmSync(paths.remoteRecord(args.name), { force: true });
      }
      if (currentRemote(paths) === args.name) setCurrentRemote(paths, undefined);
      const kept = fs.existsSync(paths.remoteConf(args.name))
        ? ` ${paths.remoteConf(args.name)} is kept; delete it if you no longer need it.`
        : '';
      io.out(
        args.json
          ? JSON.stringify({ removed: args.name, deprovisioned: args.deprovision })
          : `Forgot remote ${args.name}${args.deprovision ? ' and deprovisioned its host' : ''}.${kept}`,
      );
    },
  });
}

async function runDeprovision(args: GlobalArgs & RemoveArgs, io: CliIO, rec: RemoteRecord): Promise<void> {
  const { withClient } = await import('../context');
  await withClient(args, async (client) => {
    const { startOperation } = await import('../start-operation');
    const { followWorkflow } = await import('../follow');
    const { handle } = await startOperation(client, {
      operation: 'deprovision-remote',
      target: { remote: rec.name },
      input: { remote: rec.name },
      taskQueue: args['task-queue'],
    });
    await followWorkflow(client, handle, io, { quiet: args.json, taskQueue: args['task-queue'] });
  });
}

export function remoteCommand(io: CliIO): Command {
  return defineGroup({
    name: 'remote',
    describe: 'Manage remotes (LXD/Incus hosts): add, list, show, switch, remove',
    subcommands: [remoteAddCommand(io), listCommand(io), showCommand(io), switchCommand(io), removeCommand(io)],
  });
}
