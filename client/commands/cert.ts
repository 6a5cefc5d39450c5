import type { CertTarget } from '../../common/tls/plan';
import type { CertificateStatusResult } from '../../workflows/certificate-status';
import type { RenewCertificatesResult } from '../../workflows/renew-certificates';
import type { RestoreCertificatesResult } from '../../workflows/restore-certificates';
import {
  certTargetFromArgs,
  certTargetOptions,
  checkCertConfig,
  pinHostTarget,
  renewOptions,
  validPort,
  type CertTargetArgs,
} from '../cert-target';
import type { GlobalArgs } from '../context';
import { defineCommand, defineGroup, type Command } from '../define-command';
import type { CliIO } from '../io';

interface CertArgs extends CertTargetArgs {
  action: 'renew' | 'status' | 'restore';
  force?: boolean;
  staging?: boolean;
  'http-port'?: number;
  'https-port'?: number;
  detach: boolean;
}

const OPERATIONS = {
  renew: { operation: 'cert-renew' },
  status: { operation: 'cert-status' },
  restore: { operation: 'cert-restore' },
} as const;

const targetOptions = {
  ...certTargetOptions,
  detach: { type: 'boolean', default: false, describe: 'Return once started, printing the workflow ID' },
} as const;

export function certCommand(io: CliIO): Command {
  return defineGroup({
    name: 'cert',
    describe: 'TLS certificates: renew (certbot through the running proxy), status, restore (from this machine)',
    subcommands: [
      defineCommand({
        command: 'renew',
        describe: 'Obtain or renew the certificates that are due (or all, with --force)',
        builder: (y) =>
          y
            .options(targetOptions)
            .options(renewOptions)
            .options({ force: { type: 'boolean', default: false, describe: 'Renew even when not due' } })
            .example('$0 cert renew --deployment public', 'Renew every site of deployment public that is due'),
        handler: (args) => runCert(io, { ...args, action: 'renew' }),
      }),
      defineCommand({
        command: 'status',
        describe: 'What the www host holds: names, issuer, expiry and days left per site',
        builder: (y) =>
          y
            .options(targetOptions)
            .example('$0 cert status --host www.example.com --domain example.com', 'Certificates on a single www host'),
        handler: (args) => runCert(io, { ...args, action: 'status' }),
      }),
      defineCommand({
        command: 'restore',
        describe: 'Put the certificates saved on this machine back onto the host',
        builder: (y) =>
          y
            .options(targetOptions)
            .options({ force: { type: 'boolean', default: false, describe: 'Even over a newer certificate' } }),
        handler: (args) => runCert(io, { ...args, action: 'restore' }),
      }),
    ],
  });
}

async function runCert(io: CliIO, args: GlobalArgs & CertArgs): Promise<void> {
  const target = await certTargetFromArgs(args);
  const httpPort = validPort('http-port', args['http-port']);
  const httpsPort = validPort('https-port', args['https-port']);
  await checkCertConfig(args, target, { staging: args.staging });
  const { certOperationTarget } = await import('../../common/tls/plan');
  const { workflowIdFor } = await import('../../common/temporal/operations');
  const opTarget = certOperationTarget(target);
  workflowIdFor(OPERATIONS[args.action].operation, opTarget); // throws on anything unusable, before any traffic
  const input =
    args.action === 'renew'
      ? { target, force: args.force || undefined, staging: args.staging || undefined, httpPort, httpsPort }
      : args.action === 'restore'
        ? { target, force: args.force || undefined }
        : { target };

  const { runOperation } = await import('../run-operation');
  await runOperation(
    io,
    args,
    OPERATIONS[args.action].operation,
    opTarget,
    input,
    {
      text: (result) => {
        if (args.action === 'renew') printRenew(io, result as RenewCertificatesResult);
        else if (args.action === 'status') printStatus(io, result as CertificateStatusResult, target);
        else printRestore(io, result as RestoreCertificatesResult);
      },
      // Days left are computed at display time: the workflow's result is a record, not a clock.
      json: (result) =>
        args.action === 'status'
          ? {
              ...(result as CertificateStatusResult),
              sites: (result as CertificateStatusResult).sites.map((s) => ({
                ...s,
                daysLeft: s.notAfter ? daysLeft(s.notAfter) : null,
              })),
            }
          : result,
    },
    { beforeStart: () => pinHostTarget(args, target) },
  );
}

const day = (iso: string) => iso.slice(0, 10);
const daysLeft = (iso: string) => Math.floor((Date.parse(iso) - Date.now()) / 86_400_000);

function printRenew(io: CliIO, r: RenewCertificatesResult): void {
  for (const s of r.sites) {
    io.out(`${s.domain}  ${s.action === 'renewed' ? `renewed (${s.detail}, ${s.challenge})` : `kept: ${s.detail}`}`);
    io.out(`  names    ${s.names.join(', ')}`);
    io.out(`  expires  ${day(s.notAfter)} (${daysLeft(s.notAfter)} days), serial ${s.serial}`);
    if (s.backupFile) io.out(`  saved    ${s.backupFile}`);
  }
  if (r.reload)
    io.out(
      `proxy reloaded: ${r.reload.how === 'none' ? 'no nginx running' : r.reload.detail}${r.verified.length ? `; serving the new certificate for ${r.verified.join(', ')}` : ''}`,
    );
  for (const note of r.reload?.ignored ?? []) io.out(`  warning: ${note}`);
}

function printStatus(io: CliIO, r: CertificateStatusResult, target: CertTarget): void {
  if (r.sites.length === 0) {
    io.out(`No certificates on ${r.host}${target.kind === 'host' ? '' : ' for this deployment'}.`);
    return;
  }
  for (const s of r.sites) {
    if (!s.present) {
      io.out(`${s.domain}  no certificate on ${r.host}`);
      continue;
    }
    const left = daysLeft(s.notAfter!);
    io.out(
      `${s.domain}  expires ${day(s.notAfter!)} (${left} days left)${left <= 30 ? '  RENEWAL DUE' : ''}${s.configured ? '' : '  (not in the config)'}`,
    );
    io.out(`  issuer   ${s.issuer}`);
    io.out(`  names    ${s.names.join(', ')}`);
    if (s.missingNames.length) io.out(`  missing  ${s.missingNames.join(', ')} (the next "ssw cert renew" adds them)`);
  }
}

function printRestore(io: CliIO, r: RestoreCertificatesResult): void {
  for (const s of r.sites) io.out(`${s.domain}  ${s.action}: ${s.detail}`);
  if (r.reload) io.out(`proxy reloaded: ${r.reload.how === 'none' ? 'no nginx running' : r.reload.detail}`);
}
