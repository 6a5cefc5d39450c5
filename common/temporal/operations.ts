/**
 * Workflow identity. A workflow ID per target is ssw's lock: the server
 * refuses a second run with the same ID while one is running, and the CLI
 * refuses any other *exclusive* operation on the same target by describing
 * the sibling IDs (a strongly consistent read, unlike visibility queries).
 * Pure: imported by workflows and the client.
 */

/** What an operation acts on. `deployment` is absent for remote-wide or host-wide operations. */
export interface OperationTarget {
  remote: string;
  deployment?: string;
  site?: string;
}

/**
 * Operations that change a target and so must not overlap on it. Read-only
 * ones (check-host, show, status) are not listed and never block.
 */
export const EXCLUSIVE_OPERATIONS = [
  'provision-remote',
  'deprovision-remote',
  'up',
  'down',
  'restore',
  'backup',
  'backup-verify',
  'cert-renew',
  'cert-restore',
  'failover',
] as const;

// Lowercase names, domains, IPv4 and host:port, IPv6 as [addr]:port; never
// slashes (the separator) or spaces.
const ID_PART = /^(?:[a-z0-9][a-z0-9.:-]*|\[[0-9a-f:.]+\](?::[0-9]+)?)$/;

export function workflowIdFor(operation: string, target: OperationTarget): string {
  const parts = [operation, target.remote, target.deployment, target.site].filter(
    (p): p is string => p !== undefined && p !== '',
  );
  for (const p of parts) {
    // Names were validated with the config; this guards IDs built from anything else.
    if (!ID_PART.test(p)) throw new TypeError(`Invalid workflow id part: ${JSON.stringify(p)}`);
  }
  return parts.join('/');
}

/** IDs of the other exclusive operations that would conflict with `operation` on `target`. */
export function conflictingWorkflowIds(operation: string, target: OperationTarget): string[] {
  if (!(EXCLUSIVE_OPERATIONS as readonly string[]).includes(operation)) return [];
  const ids: string[] = [];
  for (const other of EXCLUSIVE_OPERATIONS) {
    if (other === operation) continue;
    ids.push(workflowIdFor(other, target));
    // A remote-wide operation also conflicts with the same operation scoped to the remote only.
    if (target.deployment) ids.push(workflowIdFor(other, { remote: target.remote }));
  }
  return ids;
}
