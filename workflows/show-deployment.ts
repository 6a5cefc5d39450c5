import type { DeploymentRef } from '../activities/deployment/state';
import type { DeploymentPlan } from '../common/deployment/plan';
import { planRead } from './activity-options';
import { Progress } from './progress';

/**
 * showDeployment (`ssw show`, `ssw up --plan`, `ssw down --plan`): what exists
 * of a deployment on its remote versus what the config wants, as the plan
 * `ssw up` would apply. Read-only and not exclusive: it runs the same plan
 * step as deploymentUp's first one and changes nothing. The CLI renders the
 * plan (common/deployment/plan's formatPlan).
 */
export type ShowDeploymentInput = DeploymentRef;

export interface ShowDeploymentResult {
  plan: DeploymentPlan;
}

export const SHOW_STEP = 'Read the config and the remote; plan';

export async function showDeployment(input: ShowDeploymentInput): Promise<ShowDeploymentResult> {
  const progress = Progress.start('show', { remote: input.remote, deployment: input.deployment }, [SHOW_STEP]);
  const { plan } = await progress.step(SHOW_STEP, () => planRead.planDeployment(input));
  progress.finish();
  return { plan };
}
