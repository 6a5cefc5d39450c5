import type { SsPaths } from '../common/paths';
import { createBtcpayActivities } from './bitcoin/btcpay';
import { createChainSyncActivities } from './bitcoin/chain-sync';
import { createPreloadActivities } from './bitcoin/preload';
import { createCertBackupActivities } from './cert-backup';
import { createCertbotActivities } from './certbot';
import { createConfigActivities } from './config';
import { createBtcpaySecretActivities } from './config/btcpay-secrets';
import { createDeploymentActivities } from './deployment';
import { createDockerActivities } from './docker';
import type { DockerConnector } from './docker/connect';
import { createDuplicityActivities } from './duplicity';
import { createHostActivities } from './host';
import type { LxdConnector } from './lxd/connector';
import { createProxyActivities } from './proxy';
import { createBtcpayGateActivities } from './proxy/btcpay-gate';
import { createRemoteActivities } from './remote';
import { createDescribeRemoteActivities } from './remote/describe';
import { createDeprovisionActivities } from './remote/deprovision';
import { createSshActivities } from './ssh';
import type { SshConnector } from './ssh/connector';
import { createTemporalActivities, type VisibilityDeps } from './temporal';

/**
 * The clients activities reach hosts through, one per external system; each
 * is per target (an SSH host, an LXD remote, an instance's Docker engine), so
 * what is injected is a connector that opens one per call.
 */
export interface ActivityClients {
  ssh: SshConnector;
  lxd: LxdConnector;
  docker: DockerConnector;
}

/**
 * What activities need from the worker: the clients and paths, injected (the
 * worker wires the real ones, workers/clients.ts) so tests can pass their own
 * or point them at the harness. Each factory below takes only what it uses.
 */
export interface ActivityDeps extends ActivityClients {
  paths: SsPaths;
  /** The worker's Temporal connection, for the exclusive-operation wait (absent in stand-alone tests). */
  visibility?: VisibilityDeps;
}

/** All ssw activities, one group per external system. */
export function createActivities(deps: ActivityDeps) {
  const { paths, ssh, lxd, docker, visibility } = deps;
  const gate = createBtcpayGateActivities({ paths, ssh });
  return {
    ...createSshActivities({ ssh }),
    ...createHostActivities({ ssh }),
    ...createRemoteActivities({ paths, ssh, lxd }),
    ...createDeprovisionActivities({ paths, lxd }),
    ...createDescribeRemoteActivities({ paths, lxd }),
    ...createConfigActivities({ paths }),
    ...createCertbotActivities({ ssh }),
    ...createProxyActivities({ ssh }),
    ...createCertBackupActivities({ paths, ssh }),
    ...createDuplicityActivities({ paths, ssh }),
    ...createDeploymentActivities({ paths, ssh, lxd, docker }),
    ...createDockerActivities({ paths, ssh, docker }),
    ...createTemporalActivities({ visibility }),
    ...createBtcpaySecretActivities({ paths }),
    ...gate,
    ...createChainSyncActivities({ paths, ssh, showSyncing: gate.closeBtcpayGate }),
    ...createBtcpayActivities({ paths, docker }),
    ...createPreloadActivities({ paths, ssh }),
  };
}

export type SswActivities = ReturnType<typeof createActivities>;
