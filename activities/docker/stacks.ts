import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import { FailureType } from '../../common/failure-types';
import {
  containerHash,
  filesHash,
  LABEL_HASH,
  LABEL_STACK,
  type ContainerSpec,
  type SecretRef,
  type StackSpec,
} from '../../common/stacks/spec';
import { pollUntil } from '../poll';

/**
 * Brings one stack's networks and containers to its spec through the Docker
 * API, changing only what differs: a container whose config-hash label
 * matches and which runs is left alone; a changed one is replaced. A
 * stateless app is replaced start-new-then-stop-old (the new container
 * answers on the same DNS alias before the old one goes, so the proxy keeps
 * answering); a database or anything holding ports is stopped first. Then it
 * waits until every container runs and, where it has a health check, is
 * healthy. Files and directories on the instance are written beforehand by
 * the caller (over SSH).
 */

export interface StackApplyResult {
  stack: string;
  networksCreated: string[];
  created: string[];
  replaced: string[];
  started: string[];
  /** Running containers that took changed files: reloaded (nginx) or restarted. */
  reloaded: string[];
  /** Kept containers whose networks changed: joined or left in place. */
  rejoined: string[];
  /** Containers of the stack its spec no longer has. */
  removed: string[];
  unchanged: string[];
}

/**
 * Which files each container has loaded (filesHash by container name), kept
 * on the instance by the caller. Without it, file changes are not acted on.
 */
export interface LoadedFiles {
  loaded: Record<string, string>;
  record(container: string, hash: string): Promise<void>;
}

export type SecretResolver = (ref: SecretRef) => string;

const NS = 1_000_000_000;

function isSecret(v: string | SecretRef): v is SecretRef {
  return typeof v === 'object';
}

async function inspectOrUndefined(docker: Docker, name: string): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await docker.getContainer(name).inspect();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
}

/** A secret's value as its variable takes it: alone, or in its `format` (a connection string). */
function secretText(ref: SecretRef, value: string): string {
  return ref.format ? ref.format.split('{}').join(value) : value;
}

/** Docker's create options for a spec; secrets resolved here, at the last moment, never stored elsewhere. */
export function createOptions(
  stack: string,
  c: ContainerSpec,
  name: string,
  resolve: SecretResolver,
): Docker.ContainerCreateOptions {
  const env = Object.entries(c.env).map(([k, v]) => `${k}=${isSecret(v) ? secretText(v, resolve(v)) : v}`);
  const first = c.networks[0];
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of c.ports ?? []) {
    exposed[`${p.container}/tcp`] = {};
    bindings[`${p.container}/tcp`] = [{ HostIp: p.hostIp, HostPort: String(p.host) }];
  }
  return {
    name,
    // The spec's name, also for a replacement running under a temporary name: what the app sees as its host name.
    Hostname: c.name.slice(0, 63),
    Image: c.image,
    Env: env,
    ...(c.command ? { Cmd: c.command } : {}),
    Labels: { ...(c.labels ?? {}), [LABEL_STACK]: stack, [LABEL_HASH]: containerHash(c) },
    ExposedPorts: exposed,
    ...(c.healthcheck
      ? {
          Healthcheck: {
            Test: c.healthcheck.test,
            Interval: c.healthcheck.intervalS * NS,
            Timeout: c.healthcheck.timeoutS * NS,
            Retries: c.healthcheck.retries,
            StartPeriod: c.healthcheck.startPeriodS * NS,
          },
        }
      : {}),
    HostConfig: {
      Binds: c.volumes.map((v) => `${v.host}:${v.container}${v.readOnly ? ':ro' : ''}`),
      RestartPolicy: { Name: 'unless-stopped' },
      // A small init as PID 1: signals reach the app (a prompt, clean stop) and zombies are reaped.
      Init: true,
      PortBindings: bindings,
      ...(first ? { NetworkMode: first.name } : {}),
    },
    // Docker takes one network at create time; createAndStart joins the others.
    ...(first ? { NetworkingConfig: { EndpointsConfig: { [first.name]: { Aliases: first.aliases } } } } : {}),
  };
}

async function createAndStart(
  docker: Docker,
  stack: string,
  c: ContainerSpec,
  name: string,
  resolve: SecretResolver,
): Promise<Docker.Container> {
  const container = await docker.createContainer(createOptions(stack, c, name, resolve));
  for (const n of c.networks.slice(1))
    await docker.getNetwork(n.name).connect({ Container: container.id, EndpointConfig: { Aliases: n.aliases } });
  await container.start();
  return container;
}

async function removeContainer(docker: Docker, id: string): Promise<void> {
  const c = docker.getContainer(id);
  await c.stop({ t: 30 }).catch((err: { statusCode?: number }) => {
    if (err.statusCode !== 304 && err.statusCode !== 404) throw err; // 304: already stopped
  });
  await c.remove({ force: true }).catch((err: { statusCode?: number }) => {
    if (err.statusCode !== 404) throw err;
  });
}

/**
 * Polls until the container runs and, with a health check, reports healthy; a container that exits or turns unhealthy
 * fails with its last log lines.
 */
export async function waitReady(
  docker: Docker,
  name: string,
  o: { timeoutMs: number; signal?: AbortSignal },
): Promise<void> {
  await pollUntil(
    async () => {
      const info = await docker.getContainer(name).inspect();
      const health = info.State.Health?.Status;
      if (!info.State.Running && info.State.Status !== 'restarting' && info.State.Status !== 'created') {
        const logs = (await docker.getContainer(name).logs({ stdout: true, stderr: true, tail: 5 }))
          .toString('utf8')
          // eslint-disable-next-line no-control-regex -- control bytes left by the log stream's framing
          .replace(/[\x00-\x08]/g, '')
          .trim();
        throw ApplicationFailure.create({
          message: `Container ${name} stopped (${info.State.Status}, exit code ${info.State.ExitCode}): ${logs || 'no output'}`,
          type: FailureType.CommandFailed,
        });
      }
      if (health === 'unhealthy') {
        const last = info.State.Health?.Log?.slice(-1)[0];
        throw ApplicationFailure.create({
          message: `Container ${name} is unhealthy: its health check (${JSON.stringify(info.Config.Healthcheck?.Test ?? [])}) failed ${info.State.Health?.FailingStreak ?? '?'} times; last exit ${last?.ExitCode ?? '?'}: ${(last?.Output ?? '').trim().slice(0, 300) || 'no output'}`,
          type: FailureType.CommandFailed,
        });
      }
      if (!info.State.Running) return false;
      if (health === undefined || health === 'healthy') return true;
      // Docker runs a first check only after its interval (30 s for most apps; engines before 25 have no
      // start interval): while it says "starting", run the container's own check now and take its answer.
      const check = info.Config.Healthcheck?.Test;
      if (health !== 'starting' || !check?.length) return false;
      const argv =
        check[0] === 'CMD-SHELL' ? ['sh', '-c', check.slice(1).join(' ')] : check[0] === 'CMD' ? check.slice(1) : [];
      return argv.length > 0 && (await execIn(docker, name, argv)).exitCode === 0;
    },
    { timeoutMs: o.timeoutMs, what: `container ${name} to run and be healthy`, signal: o.signal },
  );
}

/** Joins the networks the spec adds and leaves those it dropped, on a kept container; true when anything changed. */
async function rejoinNetworks(docker: Docker, c: ContainerSpec, have: Docker.ContainerInspectInfo): Promise<boolean> {
  const on = Object.keys(have.NetworkSettings.Networks ?? {});
  const want = c.networks.map((n) => n.name);
  let changed = false;
  for (const n of c.networks.filter((x) => !on.includes(x.name))) {
    await docker.getNetwork(n.name).connect({ Container: have.Id, EndpointConfig: { Aliases: n.aliases } });
    changed = true;
  }
  for (const name of on.filter((x) => !want.includes(x))) {
    await docker
      .getNetwork(name)
      .disconnect({ Container: have.Id, Force: true })
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode !== 404) throw err;
      });
    changed = true;
  }
  return changed;
}

/**
 * The payload of Docker's multiplexed exec stream: frames of an 8-byte
 * header (stream id, three zero bytes, big-endian payload size) then the
 * payload. Stripping "control bytes" instead would keep a header's size
 * bytes whenever they are printable, and cut output bytes that are not.
 */
export function demuxDockerStream(all: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at + 8 <= all.length;) {
    const size = all.readUInt32BE(at + 4);
    out.push(all.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(out);
}

/**
 * Runs a command in a container (as `user` when given) and returns its exit code and output (stdout and stderr as they
 * came).
 */
export async function execIn(
  docker: Docker,
  name: string,
  cmd: string[],
  user?: string,
): Promise<{ exitCode: number; output: string }> {
  const exec = await docker
    .getContainer(name)
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, ...(user ? { User: user } : {}) });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  const { ExitCode } = await exec.inspect();
  return { exitCode: ExitCode ?? -1, output: demuxDockerStream(Buffer.concat(chunks)).toString('utf8').trim() };
}

/**
 * A running, unchanged container whose files changed: tested and signalled
 * when the spec says how (nginx: `nginx -t`, then SIGHUP; a config it rejects
 * is a final error and the old one keeps serving), else restarted.
 */
async function takeNewFiles(docker: Docker, c: ContainerSpec): Promise<void> {
  if (c.reload) {
    const t = await execIn(docker, c.name, c.reload.test);
    if (t.exitCode !== 0) {
      throw ApplicationFailure.nonRetryable(
        `${c.name} rejects its new configuration (${c.reload.test.join(' ')} exit ${t.exitCode}), so it keeps running the previous one: ${t.output.slice(0, 500)}`,
        FailureType.CommandFailed,
      );
    }
    await docker.getContainer(c.name).kill({ signal: c.reload.signal });
  } else {
    await docker.getContainer(c.name).restart({ t: 30 });
  }
}

export async function applyStack(
  docker: Docker,
  spec: StackSpec,
  resolve: SecretResolver,
  o: {
    timeoutMs?: number;
    signal?: AbortSignal;
    files?: LoadedFiles;
    /** Each container of the spec once it is ready: progress for the caller's heartbeat. */ onReady?: (
      container: string,
    ) => void;
  } = {},
): Promise<StackApplyResult> {
  const result: StackApplyResult = {
    stack: spec.name,
    networksCreated: [],
    created: [],
    replaced: [],
    started: [],
    reloaded: [],
    rejoined: [],
    removed: [],
    unchanged: [],
  };
  const timeoutMs = o.timeoutMs ?? 600_000;

  for (const name of spec.networks) {
    const existing = await docker.listNetworks({ filters: { name: [name] } });
    if (existing.some((n) => n.Name === name)) continue;
    await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: { [LABEL_STACK]: spec.name },
    });
    result.networksCreated.push(name);
  }

  for (const c of spec.containers) {
    const hash = containerHash(c);
    const files = filesHash(c);
    const filesChanged = files !== undefined && o.files !== undefined && o.files.loaded[c.name] !== files;
    const have = await inspectOrUndefined(docker, c.name);
    if (have && have.Config.Labels?.[LABEL_HASH] === hash) {
      if (await rejoinNetworks(docker, c, have)) result.rejoined.push(c.name);
      if (have.State.Running && filesChanged) {
        await takeNewFiles(docker, c);
        result.reloaded.push(c.name);
      } else if (have.State.Running) result.unchanged.push(c.name);
      else {
        await docker.getContainer(c.name).start();
        result.started.push(c.name);
      }
    } else if (!have) {
      await createAndStart(docker, spec.name, c, c.name, resolve);
      result.created.push(c.name);
    } else if (c.startBeforeStop) {
      // The new one answers on the same aliases before the old one goes; then it takes the name.
      const next = `${c.name}-next-${hash.slice(0, 8)}`;
      // A replacement an earlier attempt left.
      if (await inspectOrUndefined(docker, next)) await removeContainer(docker, next);
      await createAndStart(docker, spec.name, c, next, resolve);
      await waitReady(docker, next, { timeoutMs, signal: o.signal });
      await removeContainer(docker, have.Id);
      await docker.getContainer(next).rename({ name: c.name });
      result.replaced.push(c.name);
    } else {
      await removeContainer(docker, have.Id);
      await createAndStart(docker, spec.name, c, c.name, resolve);
      result.replaced.push(c.name);
    }
    // In order: an app starts after its database is ready.
    await waitReady(docker, c.name, { timeoutMs, signal: o.signal });
    if (filesChanged) await o.files!.record(c.name, files!);
    o.onReady?.(c.name);
  }
  // Containers of this stack the spec no longer has (a container dropped from an app's spec).
  for (const x of await docker.listContainers({ all: true, filters: { label: [`${LABEL_STACK}=${spec.name}`] } })) {
    const name = (x.Names[0] ?? '').replace(/^\//, '');
    if (spec.containers.some((c) => c.name === name)) continue;
    await removeContainer(docker, x.Id);
    result.removed.push(name);
  }
  return result;
}

/** What runs on an engine, by stack: each ssw container's name, config hash and whether it runs. */
export async function listStacks(
  docker: Docker,
): Promise<Record<string, { name: string; hash: string; running: boolean }[]>> {
  const out: Record<string, { name: string; hash: string; running: boolean }[]> = {};
  for (const c of await docker.listContainers({ all: true, filters: { label: [LABEL_STACK] } })) {
    const stack = c.Labels[LABEL_STACK]!;
    (out[stack] ??= []).push({
      name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
      hash: c.Labels[LABEL_HASH] ?? '',
      running: c.State === 'running',
    });
  }
  return out;
}

/** Removes a stack's containers and the networks it created (ssw down, or a site or app gone from the config). */
export async function removeStack(
  docker: Docker,
  stack: string,
): Promise<{ containers: string[]; networks: string[] }> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABEL_STACK}=${stack}`] } });
  for (const c of containers) await removeContainer(docker, c.Id);
  // Networks are shared (the proxy joins every app's): those ssw made that no container uses any more go.
  const pruned = await docker.pruneNetworks({ filters: { label: [LABEL_STACK] } });
  return {
    containers: containers.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, '')),
    networks: pruned.NetworksDeleted ?? [],
  };
}
