import type { BackupApp, BackupPlan, BackupUnit } from '../common/backup/plan';
import type { SshTarget } from '../common/ssh-target';
import type { OperationName } from '../common/temporal/operations';
import { certOperationTarget, type CertTarget } from '../common/tls/plan';
import { backupSteps, backupTransfers } from './activity-options';
import { waitForTurn, WAIT_STEP } from './exclusive';
import { Progress } from './progress';

export const REACH_WWW_STEP = 'Reach the www host with the pinned host key';

export interface WwwHostStart<P extends { host: { ssh: SshTarget } }> {
  operation: OperationName;
  target: CertTarget;
  /** The first step: read the config into a plan naming the www host. */
  plan: { step: string; read: () => Promise<P> };
  /** The steps the plan reveals (per site, per app), added once it is read. */
  steps: (plan: P) => string[];
  /** Reaching the host; the caller's activity group, so its retry policy applies. */
  sshCheck: (ssh: SshTarget) => Promise<unknown>;
  /** The tool the operation needs on the host (certbot, duplicity), made sure of once SSH answers. */
  tool?: { step: string; ensure: (ssh: SshTarget) => Promise<unknown> };
}

/**
 * The first steps of every operation on a www host (backup, restore, drill,
 * certificate renewal and restore), in this order: wait for the turn on the
 * target, read the plan, reach the host with the pinned key, make sure the
 * tool is installed. Returns the progress (for the operation's own steps) and
 * the plan.
 */
export async function startOnWwwHost<P extends { host: { ssh: SshTarget } }>(
  o: WwwHostStart<P>,
): Promise<{ progress: Progress; plan: P }> {
  const target = certOperationTarget(o.target);
  const first = [WAIT_STEP, o.plan.step, REACH_WWW_STEP, ...(o.tool ? [o.tool.step] : [])];
  const progress = Progress.start(o.operation, target, first);
  await waitForTurn(progress, target);
  const plan = await progress.step(o.plan.step, o.plan.read);
  progress.addSteps(o.steps(plan));
  await progress.step(REACH_WWW_STEP, () => o.sshCheck(plan.host.ssh));
  const tool = o.tool;
  if (tool) await progress.step(tool.step, () => tool.ensure(plan.host.ssh));
  return { progress, plan };
}

/**
 * The start of backup, restore and drill: the sites' apps read into a backup plan,
 * the www host reached, duplicity made sure of. `unitSteps` names each app's own steps.
 */
export function startBackupOperation(
  operation: 'backup' | 'restore' | 'backup-verify',
  input: { target: CertTarget; apps?: BackupApp[] },
  unitSteps: (unit: BackupUnit) => string[],
): Promise<{ progress: Progress; plan: BackupPlan }> {
  return startOnWwwHost({
    operation,
    target: input.target,
    plan: {
      step: 'Read the sites and apps from the config',
      read: () => backupSteps.planBackup(input.target, { apps: input.apps }),
    },
    steps: (p) => p.units.flatMap(unitSteps),
    sshCheck: backupSteps.sshCheck,
    tool: { step: 'Make sure duplicity is installed', ensure: backupTransfers.ensureDuplicity },
  });
}
