import * as path from 'node:path';
import type { Options } from 'yargs';
import { isAbsolutePath, isDomainName, validateName } from '../common/config/validators';
import { UserError } from '../common/errors';
import { DEFAULT_BACKUP_PATH, DEFAULT_DATA_PATH } from '../common/hosts';
import type { CertificatePlan, CertTarget } from '../common/tls/plan';
import { sshTargetFromArgs } from './commands/host';
import { ensureHostKeyPinned } from './first-contact';
import { GlobalArgs, pathsOf, remoteOf } from './context';

/**
 * The target of `ssw cert ...` and `ssw schedule ...`: a deployment (its
 * www instance, its sites) or a single host reached over SSH (`--host` with
 * one or more `--domain`). Everything is checked here, config included, so
 * bad input never starts a workflow.
 */
export interface CertTargetArgs {
  deployment?: string;
  remote?: string;
  host?: string;
  domain?: string[];
  'data-path': string;
  'backup-path': string;
  'ssh-port': number;
  'ssh-user': string;
  'ssh-key'?: string;
  'ssh-agent': boolean;
  'pin-host-key'?: string;
}

export const certTargetOptions = {
  deployment: { type: 'string', describe: 'Deployment whose sites to act on (its www instance)' },
  remote: { type: 'string', describe: 'Remote of the deployment', defaultDescription: 'the current remote' },
  host: { type: 'string', describe: 'Instead of a deployment: a www host reached over SSH (name or IP)' },
  domain: {
    type: 'string',
    array: true,
    describe: 'Site domain (repeatable); with --host required, with --deployment a filter',
  },
  'data-path': {
    type: 'string',
    default: DEFAULT_DATA_PATH,
    describe: "With --host: ss's data directory on the host (certificates under letsencrypt/)",
  },
  'backup-path': {
    type: 'string',
    default: DEFAULT_BACKUP_PATH,
    describe: "With --host: ss's backup directory on the host (duplicity archives)",
  },
  'ssh-port': { type: 'number', default: 22, describe: 'With --host: SSH port' },
  'ssh-user': {
    type: 'string',
    default: 'root',
    describe: 'With --host: SSH user (root, or a user with passwordless sudo)',
  },
  'ssh-key': { type: 'string', describe: 'With --host: private key file (unencrypted)' },
  'ssh-agent': { type: 'boolean', default: false, describe: 'With --host: authenticate with ssh-agent' },
  'pin-host-key': {
    type: 'string',
    describe: 'With --host: pin this host key fingerprint (SHA256:...) after checking it matches',
  },
} as const satisfies Record<string, Options>;

/** How a renewal reaches the site: shared by `ssw cert renew` and the schedules that run it. */
export const renewOptions = {
  staging: { type: 'boolean', default: false, describe: "Use Let's Encrypt's staging CA whatever ACME_SERVER says" },
  'http-port': {
    type: 'number',
    describe: 'The port the CA validates http-01 on (80 for public CAs)',
    defaultDescription: "the deployment's PROXY_HTTP_PORT, else 80",
  },
  'https-port': {
    type: 'number',
    describe: 'The port the proxy serves HTTPS on, to check the new certificate is served',
    defaultDescription: "the deployment's PROXY_HTTPS_PORT, else 443",
  },
} as const satisfies Record<string, Options>;

export function validPort(flag: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1 || value > 65535)
    throw new UserError(`--${flag} must be 1-65535, got ${value}.`);
  return value;
}

/**
 * The --domain values, lowercased; a UserError (exit 2) for anything that is not a domain name (they become paths under
 * $SS_ROOT).
 */
export function domainsFromArgs(args: Pick<CertTargetArgs, 'domain'>): string[] {
  const domains = (args.domain ?? []).map((d) => String(d).trim().toLowerCase());
  for (const d of domains) {
    if (!isDomainName(d))
      throw new UserError(
        `--domain ${JSON.stringify(d)} is not a domain name (expected a lowercase name like example.com, no scheme or path).`,
      );
  }
  return domains;
}

export async function certTargetFromArgs(args: GlobalArgs & CertTargetArgs): Promise<CertTarget> {
  const domains = domainsFromArgs(args);
  if (args.host && args.deployment)
    throw new UserError('Give either --deployment (its www instance) or --host with --domain, not both.');
  if (args.host) {
    if (domains.length === 0)
      throw new UserError(
        `--host ${args.host} needs at least one --domain: the sites whose certificates live on that host.`,
      );
    for (const flag of ['data-path', 'backup-path'] as const) {
      if (!isAbsolutePath(args[flag]))
        throw new UserError(
          `--${flag} must be an absolute path without spaces or quotes, got ${JSON.stringify(args[flag])}.`,
        );
    }
    const ssh = await sshTargetFromArgs({ ...args, host: args.host });
    return {
      kind: 'host',
      host: {
        ssh,
        dataPath: path.posix.normalize(args['data-path']),
        backupPath: path.posix.normalize(args['backup-path']),
      },
      domains,
    };
  }
  if (!args.deployment)
    throw new UserError(
      'Name what to act on: --deployment D (a deployment on a remote), or --host H --domain D (a single www host over SSH).',
    );
  validateName('deployment', args.deployment);
  const remote = remoteOf(args);
  return { kind: 'deployment', remote, deployment: args.deployment, ...(domains.length ? { domains } : {}) };
}

/**
 * For a --host target: the host key must be pinned, or match the
 * --pin-host-key the operator verified, which is pinned now. Called once
 * Temporal has answered and nothing conflicts (runOperation's beforeStart),
 * so a run that cannot start leaves no pin behind.
 */
export async function pinHostTarget(args: GlobalArgs & CertTargetArgs, target: CertTarget): Promise<void> {
  if (target.kind === 'host')
    await ensureHostKeyPinned(pathsOf(args).knownHosts, target.host.ssh, args['pin-host-key']);
}

/** Reads and validates the config the workflow will read, so errors surface before anything starts. */
export async function checkCertConfig(
  args: GlobalArgs,
  target: CertTarget,
  opts: { staging?: boolean } = {},
): Promise<CertificatePlan> {
  const { resolveCertificatePlan } = await import('../common/tls/resolve');
  return resolveCertificatePlan(pathsOf(args), target, opts);
}
