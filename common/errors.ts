/**
 * Errors the CLI turns into one friendly paragraph. Anything else is a bug
 * and is reported as such (stack only with --verbose).
 */

/** A mistake the operator can fix (bad flag, bad config, unreachable host); exit code 2 unless stated. */
export class UserError extends Error {
  override name = 'UserError';
  constructor(
    message: string,
    readonly exitCode: number = 2,
  ) {
    super(message);
  }
}

/** One problem in one config file: which file, which key, what was expected. */
export interface ConfigProblem {
  file: string;
  key?: string;
  line?: number;
  message: string;
}

/** All the problems found in the operator's config, reported together (exit 2). */
export class ConfigError extends UserError {
  override name = 'ConfigError';
  constructor(readonly problems: ConfigProblem[]) {
    super(ConfigError.describe(problems), 2);
  }

  static describe(problems: ConfigProblem[]): string {
    const lines = problems.map((p) => {
      const where = p.key ? `${p.file}: ${p.key}` : p.line ? `${p.file}:${p.line}` : p.file;
      return `  - ${where}: ${p.message}`;
    });
    const n = problems.length;
    return `The configuration has ${n} problem${n === 1 ? '' : 's'}; nothing was started:\n${lines.join('\n')}`;
  }
}

/**
 * Config files did not exist; commented stubs were written for the operator to
 * edit (exit 1, as ss-up does). Problems found in the files that did exist are
 * carried along so the operator sees everything at once.
 */
export class ConfigStubWritten extends UserError {
  override name = 'ConfigStubWritten';
  constructor(
    /** Every stub written, in the order written. */
    readonly files: string[],
    readonly problems: ConfigProblem[] = [],
  ) {
    super(ConfigStubWritten.describe(files, problems), 1);
  }

  static describe(files: string[], problems: ConfigProblem[]): string {
    const head =
      files.length === 1
        ? `${files[0]} did not exist, so a commented stub was written there. Edit it, then run the command again.`
        : `These config files did not exist, so commented stubs were written there. Edit them, then run the command again:\n${files.map((f) => `  - ${f}`).join('\n')}`;
    return problems.length === 0 ? head : `${head}\n${ConfigError.describe(problems)}`;
  }
}
