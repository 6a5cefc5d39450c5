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
 * What an operation's target names, and so the shape of its workflow ID:
 * - `remote`: a remote (`provision-remote/home`);
 * - `deployment`: a deployment on a remote (`up/home/public`);
 * - `host`: a host by `host:port` (`check-host/127.0.0.1:2222`);
 * - `www`: the www host of a deployment, or a single www host by `host:port` and its site
 *   (`backup/home/public`, `cert-renew/www.example.com:22/example.com`).
 */
export type TargetShape = 'remote' | 'deployment' | 'host' | 'www';

export interface OperationSpec {
  /** The workflow it starts, by its exported function name (checked by tsc in workflows/operations.ts). */
  workflowType: string;
  /**
   * Whether it changes its target and so must not overlap with another exclusive
   * operation on it. Read-only ones (check-host, cert-status) never block.
   */
  exclusive: boolean;
  target: TargetShape;
  /**
   * `per-target` (the default): the ID is the operation and its target, so the same
   * command while one runs attaches to it. `per-run`: a read-only question whose
   * answer depends on its input (show with --skip-*, remote list vs show) gets an
   * ID of its own per run (`show/home/public/<uuid>`), so it never attaches to
   * another caller's run and returns that caller's answer.
   */
  ids?: 'per-target' | 'per-run';
}

/**
 * Every operation ssw starts, by name: the name is the first part of its
 * workflow ID and its SsOperation search attribute. The one place a workflow
 * type name is written; the client starts operations by name
 * (client/start-operation.ts) with the workflow's own input and result types.
 */
export const OPERATIONS = {
  'provision-remote': { workflowType: 'provisionRemote', exclusive: true, target: 'remote' },
  'deprovision-remote': { workflowType: 'deprovisionRemote', exclusive: true, target: 'remote' },
  'check-host': { workflowType: 'checkHost', exclusive: false, target: 'host' },
  up: { workflowType: 'deploymentUp', exclusive: true, target: 'deployment' },
  down: { workflowType: 'deploymentDown', exclusive: true, target: 'deployment' },
  restore: { workflowType: 'restoreDeployment', exclusive: true, target: 'www' },
  backup: { workflowType: 'backupDeployment', exclusive: true, target: 'www' },
  'backup-verify': { workflowType: 'restoreDrill', exclusive: true, target: 'www' },
  'cert-renew': { workflowType: 'renewCertificates', exclusive: true, target: 'www' },
  'cert-restore': { workflowType: 'restoreCertificates', exclusive: true, target: 'www' },
  'cert-status': { workflowType: 'certificateStatus', exclusive: false, target: 'www' },
  show: { workflowType: 'showDeployment', exclusive: false, target: 'deployment', ids: 'per-run' },
  'describe-remote': { workflowType: 'describeRemote', exclusive: false, target: 'remote', ids: 'per-run' },
  // Only watches (the node syncs on its own), so it never blocks an up, a backup or a renewal.
  'chain-sync': { workflowType: 'chainSyncWait', exclusive: false, target: 'deployment' },
  'btcpay-status': { workflowType: 'btcpayStatus', exclusive: false, target: 'deployment', ids: 'per-run' },
} as const satisfies Record<string, OperationSpec>;

export type OperationName = keyof typeof OPERATIONS;
export type ExclusiveOperation = {
  [K in OperationName]: (typeof OPERATIONS)[K]['exclusive'] extends true ? K : never;
}[OperationName];

/** The target an operation of each shape names: a deployment operation needs the deployment. */
export type TargetOf<K extends OperationName> = (typeof OPERATIONS)[K]['target'] extends 'deployment'
  ? { remote: string; deployment: string }
  : (typeof OPERATIONS)[K]['target'] extends 'www'
    ? OperationTarget
    : { remote: string };

/** The operations that must not overlap on a target, in the table's order. */
export const EXCLUSIVE_OPERATIONS: readonly ExclusiveOperation[] = (Object.keys(OPERATIONS) as OperationName[]).filter(
  (k): k is ExclusiveOperation => OPERATIONS[k].exclusive,
);

export function isExclusive(operation: string): operation is ExclusiveOperation {
  return (EXCLUSIVE_OPERATIONS as readonly string[]).includes(operation);
}

/**
 * The visibility query for the exclusive operations running on `target` (the
 * whole remote's, and the deployment's when it names one). Names in it were
 * validated with the ID (workflowIdFor) or the config: no quoting games.
 */
export function runningExclusiveQuery(target: OperationTarget): string {
  const ops = EXCLUSIVE_OPERATIONS.map((o) => `"${o}"`).join(', ');
  const scope = target.deployment ? ` AND (SsDeployment = "${target.deployment}" OR SsDeployment IS NULL)` : '';
  return `SsRemote = "${target.remote}"${scope} AND SsOperation IN (${ops}) AND ExecutionStatus = "Running"`;
}

// Lowercase names, domains, IPv4 and host:port, IPv6 as [addr]:port; never
// slashes (the separator) or spaces.
const ID_PART = /^(?:[a-z0-9][a-z0-9.:-]*|\[[0-9a-f:.]+\](?::[0-9]+)?)$/;

export function workflowIdFor(operation: OperationName, target: OperationTarget): string {
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
export function conflictingWorkflowIds(operation: OperationName, target: OperationTarget): string[] {
  if (!isExclusive(operation)) return [];
  const ids: string[] = [];
  for (const other of EXCLUSIVE_OPERATIONS) {
    if (other === operation) continue;
    ids.push(workflowIdFor(other, target));
    // A remote-wide operation also conflicts with the same operation scoped to the remote only.
    if (target.deployment) ids.push(workflowIdFor(other, { remote: target.remote }));
  }
  return ids;
}
