import { ssBridges } from '../../common/backend';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/failure-types';
import { STORAGE_POOL, type DesiredBaseImage } from '../../common/deployment/desired';
import type { InstanceType } from '../../common/config';
import { lxdStatusOf, type LxdClient } from '../lxd';
import { pollUntil } from '../poll';

/**
 * ss's weekly base image (create_base.sh): an instance started from
 * BASE_IMAGE, given the packages every instance needs, cleaned of anything
 * that must be unique per instance, stopped and published under the weekly
 * alias, then deleted. Each stage is read from LXD before it runs, so a
 * retried attempt (a killed worker, a dropped connection) carries on from
 * the stage it reached instead of starting over, and every later stage's
 * work, the builder's deletion last, is reached from whichever stage it
 * was: a published alias alone does not mean done while a builder remains.
 */

const IMAGE_SERVERS: Record<string, string> = {
  images: 'https://images.linuxcontainers.org',
  ubuntu: 'https://cloud-images.ubuntu.com/releases',
};

/**
 * LXD's source for a new instance from BASE_IMAGE: an image server's alias (images:..., ubuntu:...) or a local alias.
 */
export function imageSource(source: string): Record<string, string> {
  const m = /^(images|ubuntu):(.+)$/.exec(source);
  if (!m) return { type: 'image', alias: source };
  return { type: 'image', mode: 'pull', protocol: 'simplestreams', server: IMAGE_SERVERS[m[1]!]!, alias: m[2]! };
}

/** The builder every deployment of a remote shared before each had its own (baseImageBuilderName). */
export function builderName(alias: string): string {
  return `ssw-build-${alias}`.slice(0, 63);
}

/** The instance that builds `want`: the deployment's own; the shared one for a plan made before builders were own. */
export function builderOf(want: Pick<DesiredBaseImage, 'alias'> & { builder?: string }): string {
  return want.builder ?? builderName(want.alias);
}

/** The image property naming the builder an image was published from: how a losing build finds its own image. */
export const BUILDER_PROPERTY = 'ssw.builder';

/**
 * Prints, one per line, the commands of `required` that are missing. Fixed text: command names come from ssw's own
 * list.
 */
export function missingCommandsScript(commands: string[]): string[] {
  return ['sh', '-c', 'for c in "$@"; do command -v "$c" >/dev/null 2>&1 || echo "$c"; done', 'sh', ...commands];
}

/**
 * What must not be shared by every instance made from the image: SSH host keys, machine id, cloud-init's per-instance
 * state.
 */
export const CLEAN_SCRIPT = [
  'sh',
  '-c',
  'rm -f /etc/ssh/ssh_host_*; : > /etc/machine-id; rm -f /var/lib/dbus/machine-id; if command -v cloud-init >/dev/null; then cloud-init clean --logs; fi; apt-get clean',
];

export interface BaseImageResult {
  alias: string;
  fingerprint: string;
  /** Whether this call (or an earlier attempt it finished) made the image, rather than finding it made. */
  built: boolean;
  installed: string[];
}

/**
 * Set on the builder once it is cleaned: from then on it must not run again
 * (booting would make new host keys and a machine id), so a retry goes
 * straight to stopping and publishing it.
 */
export const CLEANED_KEY = 'user.ssw.base-image-cleaned';

/** LXD's description of every POST /1.0/images operation, publishing an instance included (it names no instance). */
const IMAGE_OPERATION = 'Downloading image';

/**
 * A worker killed during an LXD call leaves LXD's operation running (it
 * finishes without the caller): a publish still packing, a create, stop or
 * delete of the builder, an exec. The next attempt waits for them before it
 * reads any stage, so it never starts a builder that is being published or
 * publishes it twice.
 */
async function settleEarlierOperations(
  images: LxdClient,
  name: string,
  report: (stage: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const mine = `/1.0/instances/${name}`;
  const ops = (await images.listRunningOperations({ signal })).filter(
    (op) =>
      op.description === IMAGE_OPERATION ||
      Object.values(op.resources ?? {}).some((urls) => urls.some((u) => u.split('?')[0] === mine)),
  );
  for (const op of ops) {
    report(`waiting for LXD to finish "${op.description ?? op.id}", left running by an earlier attempt`);
    // Its outcome is read from LXD's state right after: a failure here changes nothing.
    await images.waitOperation(op, { signal, timeoutMs: 3_600_000 }).catch((err) => {
      if (signal?.aborted) throw err;
    });
  }
}

/** Stops the builder unless it is stopped; a stop an earlier attempt started may have finished in between. */
async function stopBuilder(images: LxdClient, name: string, signal?: AbortSignal): Promise<void> {
  if ((await images.getInstance(name, { signal }))?.status === 'Stopped') return;
  try {
    await images.setInstanceState(name, { action: 'stop', timeout: 60, force: true }, { signal });
  } catch (err) {
    if ((await images.getInstance(name, { signal }))?.status !== 'Stopped') throw err;
  }
}

/** The last stage, reached whichever stage an earlier attempt stopped after: the builder goes once the alias exists. */
async function deleteBuilder(
  images: LxdClient,
  name: string,
  report: (stage: string) => void,
  signal?: AbortSignal,
): Promise<boolean> {
  if (!(await images.getInstance(name, { signal }))) return false;
  report(`deleting the builder ${name}`);
  await stopBuilder(images, name, signal);
  try {
    await images.deleteInstance(name, { signal });
  } catch (err) {
    if (lxdStatusOf(err) !== 404) throw err; // gone meanwhile: what was wanted
  }
  return true;
}

export async function ensureBaseImage(
  lxd: LxdClient,
  want: DesiredBaseImage,
  type: InstanceType,
  report: (stage: string) => void,
  signal?: AbortSignal,
): Promise<BaseImageResult> {
  const images = lxd.withProject('default');
  const name = builderOf(want);
  await settleEarlierOperations(images, name, report, signal);
  const existing = await images.getImageAlias(want.alias);
  if (existing) {
    // Published by an earlier attempt that died before deleting its builder: finish that attempt.
    const finished = await deleteBuilder(images, name, report, signal);
    return { alias: want.alias, fingerprint: existing.target, built: finished, installed: [] };
  }

  let builder = await images.getInstance(name, { signal });
  if (!builder) {
    report(`creating the builder ${name} from ${want.source}`);
    const devices: Record<string, Record<string, string>> = { root: { type: 'disk', path: '/', pool: STORAGE_POOL } };
    // Package downloads need a way out: ss-remote's NAT bridge (lxdbr0, incusbr0 on Incus), when the remote has it.
    const { nat } = ssBridges((await images.server({ signal })).environment?.server === 'incus' ? 'incus' : 'lxd');
    if (await images.getNetwork(nat, { signal })) devices.eth0 = { type: 'nic', network: nat, name: 'eth0' };
    try {
      await images.createInstance(
        { name, type, source: imageSource(want.source) as never, profiles: [], devices },
        { signal, operationTimeoutMs: 3_600_000 },
      );
    } catch (err) {
      if (lxdStatusOf(err) !== 409) throw err; // another attempt created it meanwhile
    }
    builder = await images.getInstance(name, { signal });
  }

  let packages: string[] = [];
  if (builder?.config?.[CLEANED_KEY] !== 'true') {
    if (builder?.status !== 'Running') {
      report('starting the builder');
      await images.setInstanceState(name, { action: 'start' }, { signal });
    }

    report('waiting for the builder to run commands');
    await pollUntil(
      async () => (await images.execInstance(name, ['true'], { signal }).catch(() => undefined))?.exitCode === 0,
      { timeoutMs: 300_000, what: `the builder ${name} to accept commands`, signal },
    );
    await images.execInstance(
      name,
      ['sh', '-c', 'command -v cloud-init >/dev/null && cloud-init status --wait >/dev/null 2>&1; true'],
      { signal, operationTimeoutMs: 900_000 },
    );

    const required = Object.keys(want.requiredCommands);
    const missing = (await images.execInstance(name, missingCommandsScript(required), { signal })).stdout
      .split('\n')
      .filter(Boolean);
    packages = [...new Set(missing.map((c) => want.requiredCommands[c]!).filter(Boolean))];
    if (packages.length) {
      report(`installing ${packages.join(', ')}`);
      const env = { DEBIAN_FRONTEND: 'noninteractive' };
      const update = await images.execInstance(name, ['apt-get', 'update', '-q'], {
        signal,
        environment: env,
        operationTimeoutMs: 1_800_000,
      });
      const install = await images.execInstance(
        name,
        ['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...packages],
        { signal, environment: env, operationTimeoutMs: 3_600_000 },
      );
      if (update.exitCode !== 0 || install.exitCode !== 0) {
        const out = (install.exitCode !== 0 ? install : update).stderr.trim().split('\n').slice(-5).join(' | ');
        // Usually the builder has no way to a package mirror: retrying helps once it has.
        throw ApplicationFailure.create({
          message: `Installing ${packages.join(', ')} into the base image builder ${name} failed: ${out}`,
          type: FailureType.CommandFailed,
        });
      }
    }

    report('cleaning per-instance identity (host keys, machine id)');
    await images.execInstance(name, CLEAN_SCRIPT, { signal });
    await images.patchInstance(name, { config: { [CLEANED_KEY]: 'true' } }, { signal });
  }

  report('stopping the builder');
  await stopBuilder(images, name, signal);

  // Another deployment's build may have published the week's image meanwhile: use it, as a publish would fail on the
  // alias.
  const meanwhile = await images.getImageAlias(want.alias, { signal });
  if (meanwhile) return usePublishedMeanwhile(images, name, want.alias, meanwhile.target, report, signal);
  report(`publishing ${want.alias}`);
  try {
    await images.publishInstance(
      name,
      want.alias,
      {
        description: `Sovereign Stack base image (ssw), from ${want.source}`,
        'ssw.source': want.source,
        [BUILDER_PROPERTY]: name,
      },
      { signal, operationTimeoutMs: 3_600_000 },
    );
  } catch (err) {
    // Lost the race between the check above and LXD adding the alias: LXD made the image, then refused the alias.
    const winner = await images.getImageAlias(want.alias, { signal });
    if (!winner || signal?.aborted) throw err;
    return usePublishedMeanwhile(images, name, want.alias, winner.target, report, signal);
  }
  const published = await images.getImageAlias(want.alias, { signal });
  if (!published)
    throw ApplicationFailure.create({
      message: `Publishing ${name} as ${want.alias} ended without the alias`,
      type: FailureType.LxdServerError,
    });
  await deleteBuilder(images, name, report, signal);
  return { alias: want.alias, fingerprint: published.target, built: true, installed: packages };
}

/**
 * Another build (another deployment of the remote, brought up at the same time) published the alias first: its image
 * is the week's. This build's builder goes, and so does any image it published without the alias.
 */
async function usePublishedMeanwhile(
  images: LxdClient,
  name: string,
  alias: string,
  fingerprint: string,
  report: (stage: string) => void,
  signal?: AbortSignal,
): Promise<BaseImageResult> {
  report('another build published the image meanwhile: using it');
  for (const img of await images.listImages({ signal })) {
    if (img.properties?.[BUILDER_PROPERTY] === name && img.fingerprint !== fingerprint && !img.aliases?.length)
      await images.deleteImage(img.fingerprint, { signal });
  }
  await deleteBuilder(images, name, report, signal);
  return { alias, fingerprint, built: false, installed: [] };
}
