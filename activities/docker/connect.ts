import * as http from 'node:http';
import { inspect } from 'node:util';
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import type { SsPaths } from '../../common/paths';
import { withSsh, type SshTarget } from '../ssh';

/**
 * The Docker Engine API of an instance, reached through SSH with the
 * instance's pinned host key: every request is a stream forwarded to the
 * engine's unix socket (what `docker -H ssh://` does), so no Docker port is
 * ever opened on the network and no TLS material is needed.
 */

export const DOCKER_SOCKET = '/var/run/docker.sock';

/** An http.Agent whose every connection is a new stream from `open` (an SSH channel to a unix socket). */
class StreamAgent extends http.Agent {
  constructor(private readonly open: (cb: (err: Error | undefined, stream: Duplex) => void) => void) {
    super({ keepAlive: false });
  }

  /**
   * docker-modem formats every request's options with util.inspect (showHidden,
   * unlimited depth) even with its debug output off; through this agent that
   * would walk the whole SSH connection, seconds of CPU per request.
   */
  [inspect.custom](): string {
    return 'StreamAgent(ssh → docker.sock)';
  }

  override createConnection(_options: unknown, oncreate: (err: Error | null, stream: Duplex) => void): undefined {
    this.open((err, stream) => {
      // http sets socket timeouts and options that an SSH channel does not have; its own keepalives cover a dead peer.
      const s = stream as Duplex & { setTimeout?: unknown; setNoDelay?: unknown; setKeepAlive?: unknown };
      if (s && typeof s.setTimeout !== 'function') s.setTimeout = () => s;
      if (s && typeof s.setNoDelay !== 'function') s.setNoDelay = () => s;
      if (s && typeof s.setKeepAlive !== 'function') s.setKeepAlive = () => s;
      oncreate(err ?? null, stream);
    });
    return undefined;
  }
}

export interface DockerOverSshOptions {
  /** The engine's socket on the instance. @default /var/run/docker.sock */
  socketPath?: string;
  /** Per-request timeout. @default 120000 */
  timeoutMs?: number;
}

/** Runs `fn` with a Docker client for the engine on `target`, over one SSH connection (pinned host key). */
export async function withDocker<T>(paths: SsPaths, target: SshTarget, fn: (docker: Docker) => Promise<T>, o: DockerOverSshOptions = {}): Promise<T> {
  const socketPath = o.socketPath ?? DOCKER_SOCKET;
  return withSsh(target, { hostKeys: { knownHostsFile: paths.knownHosts, mode: 'pinned' } }, async ({ client }) => {
    const agent = new StreamAgent((cb) => client.openssh_forwardOutStreamLocal(socketPath, (err, stream) => cb(err, stream)));
    // host/port only name the HTTP target; the agent decides where bytes go.
    const docker = new Docker({ host: 'docker', port: 80, protocol: 'http', agent, timeout: o.timeoutMs ?? 120_000 } as Docker.DockerOptions);
    try {
      return await fn(docker);
    } finally {
      agent.destroy();
    }
  });
}
