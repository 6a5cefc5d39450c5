import type { SsPaths } from '../common/paths';
import { createCertBackupActivities } from './cert-backup';
import { createCertbotActivities } from './certbot';
import { createConfigActivities } from './config';
import { createDeploymentActivities } from './deployment';
import { createDockerActivities } from './docker';
import { createDuplicityActivities } from './duplicity';
import { createHostActivities } from './host';
import { createProxyActivities } from './proxy';
import { createRemoteActivities } from './remote';
import { createDescribeRemoteActivities } from './remote/describe';
import { createDeprovisionActivities } from './remote/deprovision';
import { createSshActivities } from './ssh';
import { createTemporalActivities, type VisibilityDeps } from './temporal';

/** What activities need from the worker: real clients and paths, injected so tests can point them at the harness. */
export interface ActivityDeps {
  paths: SsPaths;
  /** The worker's Temporal connection, for the exclusive-operation wait (absent in stand-alone tests). */
  visibility?: VisibilityDeps;
}

/** All ssw activities, one group per external system. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSshActivities({ paths: deps.paths }),
    ...createHostActivities({ paths: deps.paths }),
    ...createRemoteActivities({ paths: deps.paths }),
    ...createDeprovisionActivities({ paths: deps.paths }),
    ...createDescribeRemoteActivities({ paths: deps.paths }),
    ...createConfigActivities({ paths: deps.paths }),
    ...createCertbotActivities({ paths: deps.paths }),
    ...createProxyActivities({ paths: deps.paths }),
    ...createCertBackupActivities({ paths: deps.paths }),
    ...createDuplicityActivities({ paths: deps.paths }),
    ...createDeploymentActivities({ paths: deps.paths }),
    ...createDockerActivities({ paths: deps.paths }),
    ...createTemporalActivities({ visibility: deps.visibility }),
  };
}

export type SswActivities = ReturnType<typeof createActivities>;
