import * as http from 'node:http';
import { inspect } from 'node:util';
import type { Duplex } from 'node:stream';
import Docker from 'dockerode';
import type { Client } from 'ssh2';
import type { SsPaths } from '../../common/paths';
import type { SshTarget } from '../ssh/connect';
import { pinnedSsh, type SshConnector } from '../ssh/connector';
import type { SshStep } from '../ssh/step';
import { localDocker } from './local';

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

/**
 * A Docker client whose every request is a channel of `client` (an open SSH connection); `close` drops its agent, not
 * the connection.
 */
export function dockerOverSsh(client: Client, o: DockerOverSshOptions = {}): { docker: Docker; close(): void } {
  const socketPath = o.socketPath ?? DOCKER_SOCKET;
  const agent = new StreamAgent((cb) =>
    client.openssh_forwardOutStreamLocal(socketPath, (err, stream) => cb(err, stream)),
  );
  // host/port only name the HTTP target; the agent decides where bytes go.
  const docker = new Docker({
    host: 'docker',
    port: 80,
    protocol: 'http',
    agent,
    timeout: o.timeoutMs ?? 120_000,
  } as Docker.DockerOptions);
  return { docker, close: () => agent.destroy() };
}

/** An SSH step (see `sshStep`) with the instance's Docker engine reached over the step's own connection. */
export interface DockerStep extends SshStep {
  docker: Docker;
  /**
   * Runs Docker API calls (which report nothing while they wait) as a quiet phase: the connection's probe is their
   * proof of life.
   */
  api<T>(fn: (docker: Docker) => Promise<T>): Promise<T>;
}

/**
 * How activities reach Docker engines: an instance's, per host, over SSH
 * (see {@link dockerOverSsh}), and the management machine's own (air-gapped
 * images come from it). Injected into the activity factories; the worker
 * wires {@link dockerConnector} over its SSH connector.
 */
export interface DockerConnector {
  /**
   * Runs `fn` with a Docker client for the engine on `target` over one SSH connection (and that
   * connection's client, for commands beside the API calls). For short reads outside a long step;
   * an activity doing Docker work uses {@link DockerConnector.step}.
   */
  session<T>(
    target: SshTarget,
    fn: (docker: Docker, client: Client) => Promise<T>,
    o?: DockerOverSshOptions,
  ): Promise<T>;
  /**
   * A long Docker activity step on `target`: one SSH connection carries the
   * step's commands, its SFTP transfers and every Docker API request, so when
   * it stalls (a dead connection answers no probe) and is torn down, every
   * pending Docker request fails with it and the attempt fails retryably,
   * instead of waiting on a socket that will never answer.
   */
  step<T>(
    what: string,
    target: SshTarget,
    initial: unknown,
    fn: (s: DockerStep) => Promise<T>,
    o?: DockerOverSshOptions,
  ): Promise<T>;
  /** The management machine's own engine. */
  local(): Docker;
}

/** The real connector: instances' engines over `ssh`'s connections, the local engine at $DOCKER_HOST. */
export function dockerConnector(ssh: SshConnector): DockerConnector {
  return {
    session: (target, fn, o = {}) =>
      ssh.session(target, async ({ client }) => {
        const { docker, close } = dockerOverSsh(client, o);
        try {
          return await fn(docker, client);
        } finally {
          close();
        }
      }),
    step: (what, target, initial, fn, o = {}) =>
      ssh.step(what, target, initial, async (s) => {
        const { docker, close } = dockerOverSsh(s.client, o);
        try {
          return await fn({ ...s, docker, api: (call) => s.whileQuiet(() => call(docker)) });
        } finally {
          close();
        }
      }),
    local: localDocker,
  };
}

/** {@link DockerConnector.session} with the host keys pinned in `paths` (tests, and reads outside an activity). */
export async function withDocker<T>(
  paths: SsPaths,
  target: SshTarget,
  fn: (docker: Docker) => Promise<T>,
  o: DockerOverSshOptions = {},
): Promise<T> {
  return dockerConnector(pinnedSsh(paths.knownHosts)).session(target, fn, o);
}

/** {@link DockerConnector.step} with the host keys pinned in `paths` (tests). */
export async function dockerStep<T>(
  what: string,
  paths: SsPaths,
  target: SshTarget,
  initial: unknown,
  fn: (s: DockerStep) => Promise<T>,
  o: DockerOverSshOptions = {},
): Promise<T> {
  return dockerConnector(pinnedSsh(paths.knownHosts)).step(what, target, initial, fn, o);
}
