/**
 * The value a worker's codec puts in place of a payload it refuses to
 * decode (not encrypted with this machine's key, or not decryptable), so the
 * refusal reaches the worker's interceptors as data and becomes a clear,
 * non-retryable failure of that workflow or activity. A throw from the codec
 * would instead fail the workflow *task*, which Temporal retries forever
 * without a word in the history. Pure: the workflow sandbox imports it.
 */
export const REFUSED_FIELD = '__sswRefusedPayload';

export interface RefusedPayloadValue {
  [REFUSED_FIELD]: string;
}

/** The refusal's reason when `value` is a refused payload, else undefined. */
export function refusalOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const reason = (value as Record<string, unknown>)[REFUSED_FIELD];
  return typeof reason === 'string' ? reason : undefined;
}

/** The first refusal among `args`, if any. */
export function firstRefusal(args: readonly unknown[]): string | undefined {
  for (const a of args) {
    const r = refusalOf(a);
    if (r !== undefined) return r;
  }
  return undefined;
}

/** The failure message for a refused input of `what` (e.g. `workflow deploymentDown`). */
export function refusalMessage(what: string, reason: string): string {
  return (
    `Refused to run ${what}: ${reason}. ssw runs only what it encrypted itself with this machine's payload key; ` +
    'anything else that can reach the Temporal frontend (the embedded server has no authentication) could have sent it. ' +
    "Start operations with the ssw CLI, and see the README's trust notes for closing the frontend."
  );
}
