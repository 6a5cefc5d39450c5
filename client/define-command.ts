import type { ArgumentsCamelCase, Argv } from 'yargs';
import { UserError } from '../common/errors';
import type { GlobalArgs } from './context';

/**
 * How every ssw command is declared: one `defineCommand` per command, with
 * its own options and handler, and `defineGroup` for a word that only
 * gathers subcommands (`ssw cert renew`). The handler's arguments are what
 * the builder declared, inferred by yargs: no interface restated, no cast.
 */

/** Wraps each handler's run: the CLI runs it as is; a test can record the command instead. */
export type Around = (command: string, run: () => Promise<void>) => Promise<void>;

const runIt: Around = (_command, run) => run();

/**
 * A command as ssw registers it. Registration is a closure, so each command
 * keeps the argument type its builder inferred while a list of them (the
 * root's, a group's) has one type.
 */
export interface Command {
  /** The word that names it on the command line ("cert", "renew"). */
  readonly name: string;
  readonly describe: string;
  /** A group's subcommands; none for a command with a handler of its own. */
  readonly subcommands: readonly Command[];
  /** Adds it to a parser (the root, or its group's). */
  register(y: Argv<GlobalArgs>, around?: Around): Argv<GlobalArgs>;
}

export interface CommandSpec<A> {
  /** The name and its positionals, as yargs reads them: "renew", "pause [id]", "check <host>". */
  command: string;
  describe: string;
  /** Declares the command's own options and positionals; their types become the handler's. */
  builder?: (y: Argv<GlobalArgs>) => Argv<A>;
  handler: (args: ArgumentsCamelCase<A>) => Promise<void> | void;
}

export function defineCommand<A = GlobalArgs>(spec: CommandSpec<A>): Command {
  const name = firstWord(spec.command);
  return {
    name,
    describe: spec.describe,
    subcommands: [],
    register: (y, around = runIt) =>
      y.command<A>({
        command: spec.command,
        describe: spec.describe,
        builder: spec.builder,
        handler: (args) => around(name, async () => spec.handler(args)),
      }),
  };
}

export interface GroupSpec<D> {
  name: string;
  describe: string;
  subcommands: Command[];
  /**
   * What the group's name alone does (`ssw backup` backs up), with its own
   * options; without one, a subcommand must be named.
   */
  default?: Required<Pick<CommandSpec<D>, 'builder' | 'handler'>> & {
    /** What it does, for the message on an unknown subcommand: "back up". */
    does: string;
  };
}

/**
 * A word that gathers subcommands, each registered as a yargs command of its
 * own (so `ssw cert renew --help` shows renew's options only). Naming no
 * subcommand, or one that does not exist, is a usage error that lists them.
 */
export function defineGroup<D = GlobalArgs>(spec: GroupSpec<D>): Command {
  const names = spec.subcommands.map((s) => s.name);
  const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : (names[0] ?? '');
  const help = `"ssw ${spec.name} --help" describes ${names.length > 1 ? 'them' : 'it'}.`;
  const or = spec.default ? `, or none to ${spec.default.does}` : '';
  const unknown = (word: string | number) =>
    new UserError(`Unknown ${spec.name} command "${word}": use ${list}${or}. ${help}`);
  const missing = () => new UserError(`Name a ${spec.name} command: ${list}. ${help}`);
  // The group's answer when no subcommand matched: a hidden default command.
  // Its positional catches an unknown word before yargs' strict mode would
  // call it an "unknown argument".
  const registerDefault = (g: Argv<GlobalArgs>, around: Around): Argv<GlobalArgs> => {
    const own = spec.default;
    if (!own) {
      return g.command({
        command: '$0 [command]',
        describe: false,
        // Not strict: `ssw cert renw --deployment x` is an unknown command, not an unknown flag.
        builder: (d) => d.positional('command', { type: 'string' }).hide('command').strict(false),
        handler: (args) => {
          throw args.command === undefined ? missing() : unknown(args.command);
        },
      });
    }
    return g.command({
      command: '$0 [command]',
      describe: false,
      builder: (d) => own.builder(d).positional('command', { type: 'string' }).hide('command'),
      handler: async (args) => {
        if (args.command !== undefined) throw unknown(args.command);
        await around(spec.name, async () => own.handler(args));
      },
    });
  };
  return {
    name: spec.name,
    describe: spec.describe,
    subcommands: spec.subcommands,
    register: (y, around = runIt) =>
      y.command({
        command: spec.name,
        describe: spec.describe,
        builder: (g) => {
          for (const s of spec.subcommands) g = s.register(g, (name, run) => around(`${spec.name} ${name}`, run));
          return registerDefault(g, around);
        },
        // Never reached: the hidden default command answers when no subcommand matched.
        handler: () => undefined,
      }),
  };
}

function firstWord(command: string): string {
  return command.split(' ')[0] ?? command;
}
