import type { WorkflowFailedError } from '@temporalio/client';
import { UserError } from '../common/errors';

/**
 * The one place exceptions become what the operator reads: a paragraph and
 * an exit code. Stacks only with --verbose.
 */
export interface Reported {
  message: string;
  exitCode: number;
}

/** Exit codes: 0 ok, 1 operation failed or stub written, 2 bad input, 3 internal error. */
export const EXIT = { ok: 0, failed: 1, usage: 2, internal: 3 } as const;

/** Longer than any name, path or fingerprint ssw prints: a value pasted by mistake, echoed back. */
const MAX_WORD = 200;

/**
 * Cuts each run of non-blank characters longer than MAX_WORD, saying how long it was: a flag value of 5000 characters
 * is not echoed whole.
 */
export function cutLongWords(message: string): string {
  return message.replace(
    new RegExp(`\\S{${MAX_WORD + 1},}`, 'g'),
    (w) => `${w.slice(0, 60)}...(${w.length} characters)`,
  );
}

export function reportError(err: unknown, verbose: boolean): Reported {
  const r = classify(err, verbose);
  return { ...r, message: cutLongWords(r.message) };
}

function classify(err: unknown, verbose: boolean): Reported {
  if (err instanceof UserError) return { message: err.message, exitCode: err.exitCode };
  const text = (err as Error)?.message ?? '';
  const foreignKey = /encrypted with key (k[0-9a-f]+), which is not in this machine's payload\.key/.exec(text);
  if (foreignKey) {
    return {
      message:
        `This operation's data is encrypted with payload key ${foreignKey[1]}, which is not in this machine's $SS_ROOT/keys/payload.key. ` +
        'Run ssw with the --ss-root that started it, or restore that key file from your backup (old keys stay listed after "ssw key rotate").',
      exitCode: EXIT.usage,
    };
  }
  if (/payload is not encrypted with this machine's payload key/.test(text)) {
    return {
      message:
        "This operation's data is not encrypted with this machine's payload key, so it did not come from ssw (something else that reaches the Temporal frontend started or changed it). " +
        'ssw does not act on it; see the README\'s trust notes, and "ssw list" for the operations ssw started.',
      exitCode: EXIT.failed,
    };
  }
  // Required here, not at the top: loading the SDK costs ~0.4 s that --help and config commands never need.
  const { WorkflowFailedError, WorkflowNotFoundError } =
    require('@temporalio/client') as typeof import('@temporalio/client');
  if (err instanceof WorkflowNotFoundError) {
    return {
      message: `No workflow ${err.workflowId ?? ''} in this namespace. "ssw list" shows recent operations.`,
      exitCode: EXIT.usage,
    };
  }
  if (err instanceof WorkflowFailedError) {
    return { message: describeWorkflowFailure(err, verbose), exitCode: EXIT.failed };
  }
  const e = err as Error;
  const stack = verbose && e?.stack ? `\n${e.stack}` : '\nRun with --verbose for the stack trace.';
  return { message: `ssw hit an unexpected error: ${e?.message ?? String(err)}${stack}`, exitCode: EXIT.internal };
}

/** "Operation failed: <root cause message> [type]", walking the failure chain to its root. */
export function describeWorkflowFailure(err: WorkflowFailedError, verbose: boolean): string {
  const { ApplicationFailure, CancelledFailure, TemporalFailure, TerminatedFailure, TimeoutFailure } =
    require('@temporalio/common') as typeof import('@temporalio/common');
  const chain: InstanceType<typeof TemporalFailure>[] = [];
  let cur: unknown = err.cause;
  while (cur instanceof TemporalFailure) {
    chain.push(cur);
    cur = cur.cause;
  }
  const root = chain[chain.length - 1];
  let what: string;
  if (root instanceof CancelledFailure) what = 'it was cancelled';
  else if (root instanceof TerminatedFailure) what = 'it was terminated';
  else if (root instanceof TimeoutFailure) what = `a step timed out (${root.timeoutType})`;
  else what = root?.message ?? err.message;
  const type = root instanceof ApplicationFailure && root.type ? ` [${root.type}]` : '';
  let text = `The operation did not complete: ${what}${type}`;
  if (verbose) text += '\n' + chain.map((f) => `  caused by ${f.constructor.name}: ${f.message}`).join('\n');
  return text;
}
