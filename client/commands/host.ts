import * as fs from 'node:fs';
import { isIP } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateHostAddress } from '../../common/config/validators';
import { UserError } from '../../common/errors';
import { NotARegularFile, readRegularFile } from '../../common/regular-file';
import { OperationTarget, workflowIdFor } from '../../common/temporal/operations';
import type { SshTarget } from '../../common/hosts';
import type { CheckHostResult } from '../../workflows/check-host';
import { GlobalArgs, pathsOf, withClient } from '../context';
import { ensureHostKeyPinned } from '../first-contact';
import { defineCommand, defineGroup, type Command } from '../define-command';
import type { CliIO } from '../io';

interface HostCheckArgs {
  host: string;
  'ssh-port': number;
  'ssh-user': string;
  'ssh-key'?: string;
  'ssh-agent': boolean;
  'pin-host-key'?: string;
}

/** The key ssh itself would try first, when the operator names none. */
function defaultKey(): string | undefined {
  for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
    const p = path.join(os.homedir(), '.ssh', name);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/**
 * The key file must be an unencrypted private key ssh2 can use: a directory,
 * a .pub file or an encrypted key would otherwise pass here, get the host key
 * pinned and start a workflow that can only fail. The key is never echoed.
 */
async function checkPrivateKeyFile(key: string): Promise<void> {
  let data: Buffer;
  try {
    data = readRegularFile(key, 64 * 1024).data;
  } catch (err) {
    if (err instanceof NotARegularFile)
      throw new UserError(`--ssh-key ${key}: expected a private key file, but it is ${err.found}.`);
    throw new UserError(
      `--ssh-key ${key}: no readable private key there (${(err as NodeJS.ErrnoException).code ?? String(err)}).`,
    );
  }
  const { utils } = await import('ssh2');
  const parsed = utils.parseKey(data);
  const first = Array.isArray(parsed) ? parsed[0] : parsed;
  if (first instanceof Error || first === undefined) {
    const encrypted = first instanceof Error && /encrypted|passphrase/i.test(first.message);
    throw new UserError(
      encrypted
        ? `--ssh-key ${key}: the key is encrypted; ssw needs an unencrypted key file, or the key loaded in ssh-agent with --ssh-agent.`
        : `--ssh-key ${key}: not a private key (expected an OpenSSH or PEM private key, like ~/.ssh/id_ed25519).`,
    );
  }
  if (!first.isPrivateKey()) {
    throw new UserError(
      `--ssh-key ${key}: this is a public key; pass the private key${key.endsWith('.pub') ? ` (${key.slice(0, -4)})` : ''}.`,
    );
  }
}

/** Everything that can be checked before a workflow starts, so bad input never starts one. */
export async function sshTargetFromArgs(args: HostCheckArgs): Promise<SshTarget> {
  const host = validateHostAddress(args.host);
  const port = args['ssh-port'];
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UserError(`--ssh-port must be 1-65535, got ${port}.`);
  if (!/^[a-z_][a-z0-9_.-]*$/i.test(args['ssh-user']))
    throw new UserError(`--ssh-user must be a plain user name, got ${JSON.stringify(args['ssh-user'])}.`);
  const key = args['ssh-key'] ? path.resolve(args['ssh-key']) : args['ssh-agent'] ? undefined : defaultKey();
  if (key) {
    await checkPrivateKeyFile(key);
  } else if (!args['ssh-agent']) {
    throw new UserError(
      'No SSH key: pass --ssh-key PATH (an unencrypted key) or --ssh-agent (keys loaded in ssh-agent).',
    );
  }
  return { host, port, user: args['ssh-user'], privateKeyPath: key, useAgent: args['ssh-agent'] || undefined };
}

/** The operation target of a host check: `host:port`, IPv6 as `[addr]:port`. */
export function hostTarget(t: Pick<SshTarget, 'host' | 'port'>): OperationTarget {
  return { remote: isIP(t.host) === 6 ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}` };
}

export function hostCommand(io: CliIO): Command {
  return defineGroup({
    name: 'host',
    describe: 'Check a host over SSH before taking it under management (read-only)',
    subcommands: [
      defineCommand({
        command: 'check <host>',
        describe: 'Pinned host key, OS, tools, free disk (the checkHost workflow)',
        builder: (y) =>
          y.positional('host', { type: 'string', demandOption: true, describe: 'Host name or IP address' }).options({
            'ssh-port': { type: 'number', default: 22, describe: 'SSH port' },
            'ssh-user': { type: 'string', default: 'root', describe: 'SSH user' },
            'ssh-key': {
              type: 'string',
              describe: 'Private key file (unencrypted)',
              defaultDescription: '~/.ssh/id_ed25519, id_ecdsa or id_rsa',
            },
            'ssh-agent': {
              type: 'boolean',
              default: false,
              describe: 'Authenticate with the keys in ssh-agent ($SSH_AUTH_SOCK)',
            },
            'pin-host-key': {
              type: 'string',
              describe: 'Pin this host key fingerprint (SHA256:...) after checking it matches',
            },
          }),
        handler: (args) => checkHost(io, args),
      }),
    ],
  });
}

async function checkHost(io: CliIO, args: GlobalArgs & HostCheckArgs): Promise<void> {
  const target = await sshTargetFromArgs(args);
  const opTarget = hostTarget(target);
  workflowIdFor('check-host', opTarget); // throws on anything unusable, before any traffic
  await withClient(args, async (client) => {
    // Pinned only once Temporal answers: an unreachable server leaves known_hosts as it was.
    await ensureHostKeyPinned(pathsOf(args).knownHosts, target, args['pin-host-key']);
    const { startOperation } = await import('../start-operation');
    const { followWorkflow } = await import('../follow');
    const { handle, attached } = await startOperation(client, {
      operation: 'check-host',
      target: opTarget,
      input: { target },
      taskQueue: args['task-queue'],
    });
    if (!args.json) io.out(`${attached ? 'Already running; following' : 'Started'} ${handle.workflowId}`);
    const result = await followWorkflow<CheckHostResult>(client, handle, io, {
      quiet: args.json,
      taskQueue: args['task-queue'],
    });
    if (args.json) {
      io.out(JSON.stringify({ workflowId: handle.workflowId, result }, null, 2));
      return;
    }
    io.out(`${result.host}:${result.port}  ${result.os.prettyName}  ${result.kernel} ${result.arch}`);
    io.out(`  host key  ${result.hostKeyFingerprint}`);
    io.out(
      `  tools     ${result.tools.join(', ') || '(none of lxd, incus, zfs, docker, duplicity, certbot, nsupdate)'}`,
    );
    io.out(`  free /    ${(result.rootFreeKiB / 1024 / 1024).toFixed(1)} GiB`);
  });
}
