import yargs, { type Argv } from 'yargs';
import { UserError } from '../common/errors';
import { backupCommand, restoreCommand } from './commands/backup';
import { cancelCommand } from './commands/cancel';
import { certCommand } from './commands/cert';
import { codecServerCommand } from './commands/codec-server';
import { configCommand } from './commands/config';
import { devCommand } from './commands/dev';
import { downCommand, showCommand, upCommand } from './commands/deployment';
import { hostCommand } from './commands/host';
import { keyCommand } from './commands/key';
import { listCommand } from './commands/list';
import { remoteCommand } from './commands/remote';
import { btcpayCommand } from './commands/btcpay';
import { scheduleCommand } from './commands/schedule';
import { serverCommand } from './commands/server';
import { statusCommand } from './commands/status';
import { workerCommand } from './commands/worker';
import { globalOptions, type GlobalArgs } from './context';
import type { Around, Command } from './define-command';
import { reportError } from './error-handler';
import { CliIO, processIO } from './io';

/** Every command, registered in one place. Each module declares its own args and handler. */
export function commands(io: CliIO): Command[] {
  return [
    devCommand(io),
    serverCommand(io),
    workerCommand(io),
    hostCommand(io),
    remoteCommand(io),
    upCommand(io),
    downCommand(io),
    showCommand(io),
    btcpayCommand(io),
    certCommand(io),
    backupCommand(io),
    restoreCommand(io),
    scheduleCommand(io),
    configCommand(io),
    codecServerCommand(io),
    statusCommand(io),
    listCommand(io),
    cancelCommand(io),
    keyCommand(io),
  ];
}

/**
 * Runs ssw with `argv` (without node and script) and returns the exit code.
 * In-process and side-effect free apart from what the command itself does,
 * so tests call it directly. `around` wraps every command's handler (tests
 * record instead of running); help and version text go to `io` as well.
 */
export async function runCli(argv: string[], io: CliIO = processIO(), around?: Around): Promise<number> {
  const verbose = argv.includes('--verbose');
  const root: Argv<GlobalArgs> = yargs()
    .scriptName('ssw')
    .usage('ssw <command> [options]\n\nSovereign Stack operations as durable Temporal workflows.')
    .options(globalOptions)
    .group(Object.keys(globalOptions), 'Global options:')
    .strict()
    .demandCommand(1, 'Name a command: "ssw --help" lists them.')
    .recommendCommands()
    .exitProcess(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    // Usage mistakes become UserErrors (one paragraph, exit 2), not yargs' help dump.
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(`${msg} Run "ssw --help" for usage.`);
    })
    .help()
    .version(require('../../package.json').version);
  const parser = commands(io).reduce((y, c) => c.register(y, around), root);
  try {
    // With a callback, yargs hands over the --help and --version text instead of printing it.
    await parser.parseAsync(argv, {}, (_err, _args, output) => {
      if (output) io.out(output);
    });
    return io.exitCode;
  } catch (err) {
    const { message, exitCode } = reportError(err, verbose);
    io.err(message);
    return exitCode;
  }
}
