import * as fs from 'node:fs';
import type { BackendChoice } from '../../common/backend';
import type { Client } from '@temporalio/client';
import { validateName } from '../../common/config/validators';
import { UserError } from '../../common/errors';
import type { SsPaths } from '../../common/paths';
import {
  currentRemote,
  readRemoteRecord,
  setCurrentRemote,
  usableRemoteRecord,
  writeRemoteRecord,
} from '../../common/remotes';
import type { ProvisionRemoteInput, ProvisionRemoteResult } from '../../workflows/provision-remote';
import { pathsOf, withClient } from '../context';
import { defineCommand, type Command } from '../define-command';
import type { CliIO } from '../io';
import { ensureHostKeyPinned, forgetPinnedHostKey } from '../first-contact';
import { sshTargetFromArgs } from './host';

interface AddArgs {
  name: string;
  host: string;
  'ssh-user': string;
  'ssh-port': number;
  'ssh-key'?: string;
  'ssh-agent': boolean;
  'pin-host-key'?: string;
  disk: string;
  'data-plane-interface'?: string;
  backend: BackendChoice;
  'api-port': number;
  'print-preseed': boolean;
}

// A block device path, or ss's "loop"; "dir" for hosts without a spare disk (tests).
const DISK = /^(dir|loop|\/dev\/[A-Za-z0-9][A-Za-z0-9._/-]*)$/;
// Linux interface names: at most 15 characters, no slash or blank.
const IFACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;

export function validateAddArgs(args: Pick<AddArgs, 'name' | 'disk' | 'data-plane-interface' | 'api-port'>): void {
  validateName('remote', args.name);
  if (!DISK.test(args.disk) || args.disk.includes('..')) {
    throw new UserError(
      `--disk must be a block device like /dev/sdb, "loop" (ZFS on a file) or "dir" (a directory pool, for test hosts), got ${JSON.stringify(args.disk)}.`,
    );
  }
  const iface = args['data-plane-interface'];
  if (iface !== undefined && !IFACE.test(iface)) {
    throw new UserError(
      `--data-plane-interface must be a network interface name like eno2 (letters, digits, ".", "_", "-"; at most 15), got ${JSON.stringify(iface)}.`,
    );
  }
  const port = args['api-port'];
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UserError(`--api-port must be 1-65535, got ${port}.`);
}

export function remoteAddCommand(io: CliIO): Command {
  return defineCommand({
    command: 'add <name> <host>',
    describe: 'Take a host under management: install and initialise LXD, trust this machine (provisionRemote)',
    builder: (y) =>
      y
        .positional('name', { type: 'string', demandOption: true, describe: 'Remote name, e.g. home' })
        .positional('host', {
          type: 'string',
          demandOption: true,
          describe: 'Host name or IP address reachable over SSH',
        })
        .options({
          'ssh-user': { type: 'string', default: 'ubuntu', describe: 'SSH user (root, or one with passwordless sudo)' },
          'ssh-port': { type: 'number', default: 22, describe: 'SSH port' },
          'ssh-key': {
            type: 'string',
            describe: 'Private key file (unencrypted)',
            defaultDescription: '~/.ssh/id_ed25519, id_ecdsa or id_rsa',
          },
          'ssh-agent': { type: 'boolean', default: false, describe: 'Authenticate with the keys in ssh-agent' },
          'pin-host-key': {
            type: 'string',
            describe: 'Expected host key fingerprint (SHA256:...); without it the key is pinned on first use and shown',
          },
          disk: {
            type: 'string',
            default: 'loop',
            describe: 'Storage for pool ss-base: a block device (ZFS), "loop" (ZFS on a file) or "dir"',
          },
          'data-plane-interface': {
            type: 'string',
            describe: "Interface for the instances' data plane",
            defaultDescription: "the default route's",
          },
          backend: {
            choices: ['auto', 'lxd', 'incus'] as const,
            default: 'auto' as const,
            describe:
              'Container/VM manager: auto uses the one the host runs (or has installed); a bare host gets Incus, as Sovereign Stack does',
          },
          'api-port': {
            type: 'number',
            default: 8443,
            describe: "Port of the LXD API on the host's management address",
          },
          'print-preseed': {
            type: 'boolean',
            default: false,
            describe: 'Print the setup (as `lxd init` / `incus admin init` preseed YAML) and exit; touches nothing',
          },
        }),
    handler: async (args) => {
      const paths = pathsOf(args);
      // Everything that can be wrong with the input fails here, before the host is touched.
      validateAddArgs(args);
      if (args['print-preseed']) {
        const { desiredSetup, renderPreseed } = await import('../../common/remote-setup');
        const { validateHostAddress } = await import('../../common/config/validators');
        const { isIP } = await import('node:net');
        const host = validateHostAddress(args.host);
        // Without the host, auto cannot be detected: show a bare host's (Incus), and say so.
        const backend = args.backend === 'auto' ? 'incus' : args.backend;
        io.out(
          `# ${backend === 'incus' ? 'incus admin init --preseed' : 'lxd init --preseed'}${args.backend === 'auto' ? ' (a bare host; a host that runs LXD gets lxdbr0/lxdbr1: --backend lxd shows that)' : ''}`,
        );
        io.out(
          renderPreseed(
            desiredSetup(
              {
                mgmtIp: isIP(host) ? host : '<address of the SSH connection>',
                apiPort: args['api-port'],
                disk: args.disk,
                dataPlaneInterface: args['data-plane-interface'] ?? '<interface of the default route>',
              },
              backend,
            ),
          ),
        );
        return;
      }
      const target = await sshTargetFromArgs(args);
      const confFile = paths.remoteConf(args.name);
      const confExisted = fs.existsSync(confFile);
      const { loadRemoteConfig } = await import('../../common/config'); // zod: loaded on use, not for --help
      const { remoteStub, writeStub } = await import('../../common/config/stubs');
      if (confExisted) loadRemoteConfig(paths, args.name); // broken: exit 2, nothing started

      const input: ProvisionRemoteInput = {
        remote: args.name,
        target,
        disk: args.disk,
        dataPlaneInterface: args['data-plane-interface'],
        backend: args.backend,
        apiPort: args['api-port'],
      };
      const request = {
        operation: 'provision-remote' as const,
        target: { remote: args.name },
        input,
        taskQueue: args['task-queue'],
      };
      // What this run wrote on this machine, so that any failure removes exactly that.
      const wrote: LocalWrites = { confFile };
      let runMayGoOn = false;
      let result: ProvisionRemoteResult;
      try {
        result = await withClient(args, async (client) => {
          const { refuseConflicts, startOperation } = await import('../start-operation');
          const { followWorkflow } = await import('../follow');
          // Temporal answers and nothing else runs on this remote: only now is the host
          // probed and anything written here (an unreachable server or a refusal leaves no pin).
          await refuseConflicts(client, request);
          const pin = await ensureHostKeyPinned(paths.knownHosts, target, args['pin-host-key'], {
            trustOnFirstUse: true,
            notify: (line) => (args.json ? io.err(line) : io.out(line)), // --json keeps stdout to the document
          });
          if (pin.pinnedNow) wrote.pinned = { host: target.host, port: target.port, keyType: pin.keyType };
          if (!confExisted) {
            const stub = remoteStub(args.name);
            if (writeStub(confFile, stub)) wrote.stub = stub;
          }
          const { handle, attached } = await startOperation(client, request);
          if (!args.json) io.out(`${attached ? 'Already running; following' : 'Started'} ${handle.workflowId}`);
          try {
            return await followWorkflow<ProvisionRemoteResult>(client, handle, io, {
              quiet: args.json,
              taskQueue: args['task-queue'],
            });
          } catch (err) {
            runMayGoOn = await mayStillRun(client, handle.workflowId, err);
            throw err;
          }
        });
      } catch (err) {
        // Nothing half-written: a remote that was not added leaves nothing behind. The one
        // exception is a run that may still go on (we lost Temporal while following it):
        // it needs the pinned key, and a rerun attaches to it.
        if (runMayGoOn) {
          const kept = [wrote.pinned && 'the host key pinned for it', wrote.stub !== undefined && confFile].filter(
            Boolean,
          );
          io.err(
            `The provisioning run may still be going on${kept.length ? `; kept ${kept.join(' and ')}` : ''}. Run the same command again to follow it.`,
          );
        } else if (!usableRemoteRecord(paths, args.name)) {
          await undoLocalWrites(paths, args.name, wrote);
        }
        throw err;
      }
      const { pinned } = wrote;
      if (pinned) {
        const rec = readRemoteRecord(paths, args.name);
        if (rec) writeRemoteRecord(paths, { ...rec, pinnedHostKeyType: pinned.keyType });
      }
      if (!currentRemote(paths)) setCurrentRemote(paths, args.name);
      if (args.json) {
        io.out(JSON.stringify({ result, current: currentRemote(paths) === args.name }, null, 2));
        return;
      }
      io.out(
        `Remote ${args.name}: ${result.backend} ${result.version} at ${result.endpoint} (server certificate ${result.serverFingerprint.slice(0, 16)}... pinned).`,
      );
      io.out(
        result.changes.length
          ? `  changed: ${result.changes.join('; ')}`
          : `  ${result.backend === 'incus' ? 'Incus' : 'LXD'} already matched: nothing changed.`,
      );
      if (result.installed.length) io.out(`  installed: ${result.installed.join(', ')}`);
      io.out(`  this machine's certificate: ${result.trust === 'added' ? 'now trusted' : 'already trusted'}`);
      if (!confExisted) io.out(`  wrote ${confFile} (commented; every key in it is optional).`);
      if (currentRemote(paths) === args.name) io.out(`  ${args.name} is the current remote.`);
    },
  });
}

interface LocalWrites {
  confFile: string;
  /** The remote.conf stub this run wrote (removed only while still unedited). */
  stub?: string;
  /** The known_hosts line this run pinned. */
  pinned?: { host: string; port: number; keyType?: string };
}

/** Removes what a failed `remote add` wrote on this machine, and nothing the operator made. */
async function undoLocalWrites(paths: SsPaths, name: string, wrote: LocalWrites): Promise<void> {
  if (
    wrote.stub !== undefined &&
    fs.existsSync(wrote.confFile) &&
    fs.readFileSync(wrote.confFile, 'utf8') === wrote.stub
  ) {
    fs.rmSync(wrote.confFile);
    try {
      fs.rmdirSync(paths.remoteDir(name)); // only if empty
    } catch {
      /* the operator put something there: keep it */
    }
  }
  if (wrote.pinned) forgetPinnedHostKey(paths.knownHosts, wrote.pinned.host, wrote.pinned.port, wrote.pinned.keyType);
}

/**
 * After following a run failed: could it still be running? Not when it ended in
 * failure; otherwise ask the server, and when it cannot say, assume it may.
 */
async function mayStillRun(client: Client, workflowId: string, err: unknown): Promise<boolean> {
  const { WorkflowFailedError } = await import('@temporalio/client');
  if (err instanceof WorkflowFailedError) return false;
  try {
    const { status } = await client.workflow.getHandle(workflowId).describe();
    return status.name === 'RUNNING';
  } catch {
    return true;
  }
}
