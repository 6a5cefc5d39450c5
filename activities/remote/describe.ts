import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../../common/failure-types';
import type { SsPaths } from '../../common/paths';
import { readRemoteRecord } from '../../common/remotes';
import type { LxdConnector } from '../lxd/connector';

/**
 * What a provisioned remote's LXD has, read over HTTPS with the recorded
 * pins (`ssw remote list|show|remove`). Reads only. `summary` is the server
 * and its projects (list, remove); `full` adds storage, networks and
 * instances (show).
 */
export interface RemoteDescription {
  /** The server's answer to this machine's certificate: 'trusted' once `remote add` finished. */
  auth: string;
  /** The server's own name and version (e.g. lxd, 5.21.1), when it says. */
  server?: string;
  serverVersion?: string;
  projects: string[];
  storagePools?: { name: string; driver: string; status?: string; usedBy: number }[];
  /** Managed networks only. */
  networks?: { name: string; type?: string; description?: string; address?: string }[];
  instances?: { name: string; project?: string; type: string; status: string }[];
}

export interface DescribeRemoteOptions {
  detail: 'summary' | 'full';
  /** Each LXD request's limit: a remote that does not answer is reported, not waited for. */
  requestTimeoutMs: number;
}

export function createDescribeRemoteActivities({ paths, lxd }: { paths: SsPaths; lxd: LxdConnector }) {
  async function describeRemote(remote: string, o: DescribeRemoteOptions): Promise<RemoteDescription> {
    const rec = readRemoteRecord(paths, remote);
    if (!rec)
      throw ApplicationFailure.nonRetryable(
        `Remote ${remote} has no record (${paths.remoteRecord(remote)}).`,
        FailureType.Config,
      );
    const api = await lxd.remote({
      endpoint: rec.endpoint,
      serverCertPem: rec.serverCertPem,
      requestTimeoutMs: o.requestTimeoutMs,
    });
    try {
      const server = await api.server();
      const base = {
        auth: server.auth,
        server: server.environment?.server,
        serverVersion: server.environment?.server_version,
      };
      if (o.detail === 'summary') return { ...base, projects: (await api.listProjects()).map((p) => p.name) };
      const [pools, networks, projects, instances] = await Promise.all([
        api.listStoragePools(),
        api.listNetworks(),
        api.listProjects(),
        api.listInstances({ allProjects: true }),
      ]);
      return {
        ...base,
        projects: projects.map((p) => p.name),
        storagePools: pools.map((p) => ({
          name: p.name,
          driver: p.driver,
          status: p.status,
          usedBy: (p.used_by ?? []).length,
        })),
        networks: networks
          .filter((n) => n.managed)
          .map((n) => ({
            name: n.name,
            type: n.type,
            description: n.description,
            address: n.config?.['ipv4.address'],
          })),
        instances: instances.map((i) => ({ name: i.name, project: i.project, type: i.type, status: i.status })),
      };
    } finally {
      api.close();
    }
  }

  return { describeRemote };
}
