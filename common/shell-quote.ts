/**
 * The one place where an argv array becomes a POSIX `sh` command string.
 *
 * SSH has no argv: the server hands one string to the user's login shell
 * (`$SHELL -c "<string>"`). Every host command in ssw is built as an argv array
 * by a pure function and reaches the wire only through `argvToCommand`, so
 * quoting is decided once and tested once.
 *
 * Secrets never go through here: a command line is visible in `ps` on the host
 * and may end up in logs and Temporal history. Pass them on stdin
 * (`runCommand(client, argv, { stdin })`).
 */

/** Characters that never need quoting in sh (no globbing, expansion or word splitting). */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quote one argument for POSIX sh.
 *
 * Anything outside the safe set is wrapped in single quotes, inside which sh
 * interprets nothing at all; a literal `'` is written as `'\''` (close, escaped
 * quote, reopen). The empty string becomes `''` so it survives as an argument.
 *
 * @throws Error when the argument contains a NUL byte: C strings (and so argv
 * on the host) cannot carry one, and silently truncating would run a different
 * command than the one asked for.
 */
export function shellQuote(arg: string): string {
  if (typeof arg !== 'string') {
    throw new TypeError(`shellQuote: expected a string, got ${typeof arg}`);
  }
  if (arg.includes('\0')) {
    throw new Error('shellQuote: an argument contains a NUL byte, which cannot be passed to a command');
  }
  if (arg === '') return "''";
  if (SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Words the shell treats specially in command position even when they use only
 * safe characters (POSIX reserved words plus bash's, since the login shell on a
 * host is often bash).
 */
const RESERVED = new Set([
  'case',
  'do',
  'done',
  'elif',
  'else',
  'esac',
  'fi',
  'for',
  'if',
  'in',
  'then',
  'until',
  'while',
  'function',
  'select',
  'time',
  'coproc',
]);

/**
 * Quote the command name. Besides `shellQuote`'s rules it also quotes
 * `NAME=value` (unquoted, sh would read it as a variable assignment and run the
 * next argument instead) and reserved words (`if`, `time`, ...), so argv[0] is
 * always run as the program it names.
 */
function quoteCommandName(arg: string): string {
  const quoted = shellQuote(arg);
  if (quoted === arg && (arg.includes('=') || RESERVED.has(arg))) return `'${arg}'`;
  return quoted;
}

/**
 * Join an argv array into one sh command string, each element quoted.
 *
 * @throws Error on an empty argv (there is no command to run) or a NUL byte.
 */
export function argvToCommand(argv: readonly string[]): string {
  if (!Array.isArray(argv) || argv.length === 0) {
    throw new Error('argvToCommand: argv must contain at least the command name');
  }
  return [quoteCommandName(argv[0]!), ...argv.slice(1).map(shellQuote)].join(' ');
}
