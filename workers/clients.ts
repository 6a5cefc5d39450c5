import type { ActivityClients } from '../activities';
import { dockerConnector } from '../activities/docker/connect';
import { lxdConnector } from '../activities/lxd/connector';
import { pinnedSsh } from '../activities/ssh/connector';
import type { SsPaths } from '../common/paths';

/**
 * The real clients behind every activity, for the management machine's
 * $SS_ROOT: SSH with the host keys pinned in its known_hosts, LXD with its
 * client certificate and each remote's pinned server certificate, Docker
 * over those SSH connections (and the local engine at $DOCKER_HOST).
 */
export function realClients(paths: SsPaths): ActivityClients {
  const ssh = pinnedSsh(paths.knownHosts);
  return { ssh, lxd: lxdConnector(paths), docker: dockerConnector(ssh) };
}
