import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import { loadDeploymentConfig, type DeploymentConfig, type SiteConfig } from '../../common/config';
import { DEFAULT_DATA_PATH } from '../../common/hosts';
import { FailureType } from '../../common/failure-types';
import type { SsPaths } from '../../common/paths';
import { appStacks, stacksOfApp } from '../../common/stacks/apps';
import { diffStacks, type StackDiff } from '../../common/stacks/diff';
import { proxyStack } from '../../common/stacks/proxy';
import type { SecretRef, StackSpec } from '../../common/stacks/spec';
import { readBtcpayHost, readInstanceRecord, readWwwHost } from '../../common/hosts/instance-record';
import { btcpayStacks } from '../../common/stacks/btcpay';
import { asRoot } from '../../common/hosts';
import { configured } from '../config';
import { runChecked, type SshConnector, type SshStep, type SshTarget } from '../ssh';
import { httpGetOverSsh } from '../ssh/tunnel';
import type { DockerConnector } from './connect';
import { transferImages, type ImageTransfer } from './images';
import { pruneSecretFiles, writeSecretFiles } from './secret-files';
import { applyStack, listStacks, removeStack, type LoadedFiles, type StackApplyResult } from './stacks';

/**
 * The Docker services of a deployment's www instance (ss's www/go.sh): the
 * stacks rendered from the config, their images brought in, their
 * directories and files written, then each stack reconciled. The config and
 * its secrets are read here, when the step runs, never from workflow input.
 *
 * Each activity is one {@link dockerStep}: its commands, transfers and Docker
 * API requests share one SSH connection and heartbeat what they achieve, so a
 * dead connection fails the attempt within the stall limit (see `withProgress`).
 */

export interface DeployStacksResult {
  images: ImageTransfer[];
  stacks: StackApplyResult[];
}

/** Where each container's loaded-files hash is kept on the instance (on ss-data: it outlives the containers). */
export const LOADED_FILES_DIR = `${DEFAULT_DATA_PATH}/.ssw/loaded-files`;

/** The value of a site.conf secret a container needs. */
export function secretValue(sites: SiteConfig[], ref: SecretRef): string {
  const site = sites.find((s) => s.domain === ref.domain);
  const key = ref.secret
    .toLowerCase()
    .replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()) as keyof SiteConfig['secrets'];
  const value = site?.secrets[key];
  if (!value)
    throw ApplicationFailure.nonRetryable(
      `${ref.secret} is not set in the site.conf of ${ref.domain}, but a container needs it`,
      FailureType.Config,
    );
  return value;
}

function btcpayUpstream(paths: SsPaths, remote: string, deployment: string): string | undefined {
  const rec = readInstanceRecord(paths, remote, deployment, 'btcpayserver');
  return rec && `${rec.ssh.host}:80`;
}

/** Whether two of the stacks name the same network. */
export function sharesNetwork(stacks: StackSpec[]): boolean {
  const seen = new Set<string>();
  for (const n of stacks.flatMap((x) => [...new Set(x.networks)])) {
    if (seen.has(n)) return true;
    seen.add(n);
  }
  return false;
}

/** Which instance a group of stacks runs on. */
export type StackGroup = 'proxy' | 'apps' | 'btcpay';

/** The instance each stack group runs on. */
export function stackRole(which: StackGroup): 'www' | 'btcpayserver' {
  return which === 'btcpay' ? 'btcpayserver' : 'www';
}

/** The stacks of one instance role, in deploy order. */
export function instanceStacks(
  paths: SsPaths,
  config: DeploymentConfig,
  remote: string,
  deployment: string,
  role: 'www' | 'btcpayserver',
): StackSpec[] {
  return role === 'www' ? deploymentStacks(paths, config, remote, deployment) : btcpayStacks(config);
}

function hostOf(paths: SsPaths, remote: string, deployment: string, role: 'www' | 'btcpayserver') {
  return role === 'www' ? readWwwHost(paths, remote, deployment) : readBtcpayHost(paths, remote, deployment);
}

/**
 * Every stack of the deployment, in deploy order (the proxy first: it owns the ports),
 * as its config and this machine's records say: what deploy and plan both render.
 */
export function deploymentStacks(
  paths: SsPaths,
  config: DeploymentConfig,
  remote: string,
  deployment: string,
): StackSpec[] {
  const { http, https } = config.project.proxyPorts;
  const apps = appStacks(config);
  return [
    proxyStack(config, apps, {
      btcpayUpstream: btcpayUpstream(paths, remote, deployment),
      httpPort: http,
      httpsPort: https,
    }),
    ...apps,
  ];
}

/** Every ssw container on the instance's engine, by name. */
/** The names of every container of every stack on the instance (what secret files may stay for). */
async function containerNames(docker: Docker): Promise<string[]> {
  return Object.values(await listStacks(docker)).flatMap((cs) => cs.map((c) => c.name));
}

/**
 * Writes stdin to $1 when its content differs, in place (the inode a container mounts stays), and exits with the
 * write's status: a file that could not be written must fail the step, or Docker would mount a directory in its
 * place.
 */
export const WRITE_IF_CHANGED =
  'mkdir -p "$(dirname "$1")" && t=$(mktemp) || exit 1; ' +
  'cat > "$t" && { cmp -s "$t" "$1" || cat "$t" > "$1"; }; rc=$?; rm -f "$t"; exit $rc';

/**
 * Directories, then files. A file is rewritten only when its content
 * differs, and in place: containers bind-mount single files, and a mount
 * follows the inode, so a file renamed over the old one would go unseen.
 */
async function writeFilesAndDirectories(s: SshStep, user: string, stacks: StackSpec[]): Promise<void> {
  const dirs = [...new Set([...stacks.flatMap((s) => s.directories), LOADED_FILES_DIR])];
  // As root (the ACME webroot lives in certbot's root-owned letsencrypt/), each new one owned by the instance's user,
  // as ss's.
  const mkdirs = 'u=$1; shift; for d; do [ -d "$d" ] || { mkdir -p "$d" && chown "$u:" "$d"; } || exit 1; done';
  await s.runChecked(asRoot(user, ['sh', '-c', mkdirs, 'sh', user, ...dirs]), { timeoutMs: 60_000 });
  for (const f of stacks.flatMap((s) => s.containers.flatMap((c) => c.files ?? []))) {
    await s.runChecked(['sh', '-c', WRITE_IF_CHANGED, 'sh', f.path], { stdin: f.content, timeoutMs: 60_000 });
    s.progress();
  }
}

/** nginx cannot start without each site's certificate: say so plainly, before touching the running proxy. */
async function requireCertificates(
  s: Pick<SshStep, 'runChecked'>,
  user: string,
  config: DeploymentConfig,
  dataPath: string,
): Promise<void> {
  const files = config.sites.map((s) => `${dataPath}/letsencrypt/${s.domain}/live/${s.domain}/fullchain.pem`);
  // certbot keeps live/ root-only: looked at as root.
  const r = await s.runChecked(
    asRoot(user, ['sh', '-c', 'for f in "$@"; do [ -e "$f" ] || echo "$f"; done', 'sh', ...files]),
    { timeoutMs: 30_000 },
  );
  const missing = r.stdout.split('\n').filter(Boolean);
  if (missing.length) {
    throw ApplicationFailure.nonRetryable(
      `The www instance has no certificate for ${missing.map((f) => f.split('/').at(-2)).join(', ')} (${missing.join(', ')}), and the reverse proxy cannot start without one. Run "ssw up" without --no-cert-renew, or restore saved ones with --restore-certs.`,
      FailureType.Config,
    );
  }
}

/** The loaded-files hash of every container, as recorded on the instance. */
async function readLoadedFiles(s: Pick<SshStep, 'runChecked'>): Promise<Record<string, string>> {
  const r = await s.runChecked(
    [
      'sh',
      '-c',
      'cd "$1" 2>/dev/null || exit 0; for f in *; do [ -f "$f" ] && printf "%s %s\\n" "$f" "$(cat "$f")"; done; exit 0',
      'sh',
      LOADED_FILES_DIR,
    ],
    { timeoutMs: 30_000 },
  );
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const [name, hash] = line.trim().split(' ');
    if (name && hash) out[name] = hash;
  }
  return out;
}

function loadedFiles(s: SshStep, loaded: Record<string, string>): LoadedFiles {
  return {
    loaded,
    record: async (container, hash) => {
      await s.runChecked(
        [
          'sh',
          '-c',
          'printf %s "$2" > "$1.tmp" && mv -f "$1.tmp" "$1"',
          'sh',
          `${LOADED_FILES_DIR}/${container}`,
          hash,
        ],
        { timeoutMs: 30_000 },
      );
    },
  };
}

/**
 * What deploying would do to each stack on the www instance (`ssw up --plan`,
 * and the workflow's plan): create, change (and why), keep, or delete for a
 * stack whose site or app left the config.
 */
export async function readStackPlan(
  docker: DockerConnector,
  rendered: StackSpec[],
  target: SshTarget,
): Promise<StackDiff[]> {
  // Short, bounded reads (command and request timeouts), also made outside any activity (`ssw up --plan`).
  return docker.session(target, async (engine, client) => {
    const loaded = await readLoadedFiles({ runChecked: (argv, o) => runChecked(client, argv, o) });
    return diffStacks(rendered, await listStacks(engine), loaded);
  });
}

export function createDockerActivities(deps: { paths: SsPaths; ssh: SshConnector; docker: DockerConnector }) {
  const { paths, ssh, docker } = deps;
  /**
   * Brings the stacks named (`proxy`, or `apps`) to the config on the www
   * instance. Heartbeats what moved (image bytes, files written, containers
   * ready); a retry re-reconciles, which leaves finished stacks alone, and
   * resumes an image upload from its partial file.
   */
  async function deployStacks(remote: string, deployment: string, which: StackGroup): Promise<DeployStacksResult> {
    const role = stackRole(which);
    const { config, www } = configured(() => ({
      config: loadDeploymentConfig(paths, { remote, deployment }),
      www: hostOf(paths, remote, deployment, role),
    }));
    const all = instanceStacks(paths, config, remote, deployment, role);
    const stacks = which === 'proxy' ? all.slice(0, 1) : which === 'apps' ? all.slice(1) : all;
    return docker.step(`deploying the ${which} stacks on ${www.ssh.host}`, www.ssh, { phase: 'images' }, async (s) => {
      const refs = [...new Set(stacks.flatMap((x) => x.containers.map((c) => c.image)))];
      let images: ImageTransfer[] = [];
      if (config.remote.imageSource === 'airgapped') images = await transferImages(paths, docker.local(), s, refs);
      else {
        for (const ref of refs) {
          if (
            await s
              .api((d) => d.getImage(ref).inspect())
              .then(
                () => true,
                () => false,
              )
          )
            continue;
          const stream = await s.api((d) => d.pull(ref));
          // Each progress message of the pull (layers downloading, extracting) is progress.
          await new Promise<void>((resolve, reject) =>
            s.docker.modem.followProgress(
              stream,
              (err) => (err ? reject(err) : resolve()),
              () => s.progress({ phase: 'images', pulling: ref }),
            ),
          );
        }
      }
      if (which === 'proxy') await requireCertificates(s, www.ssh.user, config, www.dataPath);
      s.progress({ phase: 'files' });
      await writeFilesAndDirectories(s, www.ssh.user, stacks);
      const resolve = (ref: SecretRef) => secretValue(config.sites, ref);
      await writeSecretFiles(s.client, www.ssh.user, stacks, resolve);
      const loaded = loadedFiles(s, await readLoadedFiles(s));
      // Stacks are independent of each other (own networks, own containers): reconciled side by side,
      // so their readiness waits (a first health check comes after its interval) overlap.
      const ready: string[] = [];
      s.progress({ phase: 'containers', stacks: stacks.map((x) => x.name), ready });
      const apply = (spec: StackSpec) =>
        s.api((docker) =>
          applyStack(docker, spec, resolve, {
            signal: s.signal,
            files: loaded,
            onReady: (container) => {
              ready.push(container);
              s.progress({ phase: 'containers', stacks: stacks.map((x) => x.name), ready });
            },
          }),
        );
      // Stacks that share a network (BTCPay's node and server) go one after another, in order: two creating the
      // same network at once would leave two networks of one name.
      const results: StackApplyResult[] = [];
      if (sharesNetwork(stacks)) for (const spec of stacks) results.push(await apply(spec));
      else results.push(...(await Promise.all(stacks.map(apply))));
      await pruneSecretFiles(s.client, www.ssh.user, await s.api(containerNames));
      return { images, stacks: results };
    });
  }

  /**
   * Removes stacks from the www instance: those named (a site or app gone
   * from the config), or every ssw stack (`ssw down`). Networks no container
   * uses any more go with them. Data on ss-data stays.
   */
  async function removeStacks(
    remote: string,
    deployment: string,
    which: { stacks: string[] } | 'all',
    role: 'www' | 'btcpayserver' = 'www',
  ): Promise<{ removed: string[]; containers: string[] }> {
    const www = configured(() => hostOf(paths, remote, deployment, role));
    return docker.step(
      `removing stacks on ${www.ssh.host}`,
      www.ssh,
      { removing: which === 'all' ? 'all' : which.stacks },
      async (s) => {
        const names = which === 'all' ? Object.keys(await s.api(listStacks)) : which.stacks;
        const containers: string[] = [];
        for (const stack of names) {
          containers.push(...(await s.api((d) => removeStack(d, stack))).containers);
          s.progress({ removed: stack });
        }
        // Their secrets go with them.
        await pruneSecretFiles(s.client, www.ssh.user, await s.api(containerNames));
        return { removed: names, containers };
      },
    );
  }

  /**
   * Removes the stacks that run one app of one site (its containers, not its data), so that a restore never swaps
   * the data under a running database; `deployStacks` brings them back on the restored data. Nothing to do when
   * none runs (already removed: a retry, or `up --restore-wwwserver`, which removes them itself).
   */
  async function stopAppStacks(
    remote: string,
    deployment: string,
    unit: { domain: string; app: string },
  ): Promise<{ removed: string[] }> {
    const www = configured(() => readWwwHost(paths, remote, deployment));
    return docker.step(
      `stopping ${unit.app} of ${unit.domain} on ${www.ssh.host}`,
      www.ssh,
      { stopping: `${unit.domain} ${unit.app}` },
      async (s) => {
        const names = stacksOfApp(unit.domain, unit.app, Object.keys(await s.api(listStacks)));
        for (const stack of names) {
          await s.api((d) => removeStack(d, stack));
          s.progress({ removed: stack });
        }
        await pruneSecretFiles(s.client, www.ssh.user, await s.api(containerNames));
        return { removed: names };
      },
    );
  }

  /**
   * Asks the proxy, on the instance, for every site's names over HTTP (the
   * redirect to HTTPS proves nginx answers for them) and returns what each
   * answered.
   */
  async function checkSitesServed(remote: string, deployment: string): Promise<{ name: string; status: number }[]> {
    const { config, www } = configured(() => ({
      config: loadDeploymentConfig(paths, { remote, deployment }),
      www: readWwwHost(paths, remote, deployment),
    }));
    const h = config.project.hostnames;
    const names = config.sites.flatMap((x) => [x.domain, `${h.www}.${x.domain}`]);
    const port = config.project.proxyPorts.http;
    return ssh.step(`checking the sites served by ${www.ssh.host}`, www.ssh, { checking: names.length }, async (s) => {
      const out: { name: string; status: number }[] = [];
      for (const name of names) {
        const a = await s.whileQuiet(() => httpGetOverSsh(s.client, `127.0.0.1:${port}`, '/', name));
        if (a.status !== 301)
          throw ApplicationFailure.create({
            message: `The proxy on ${www.ssh.host}:${port} answered ${a.status} for ${name}, not the redirect to HTTPS`,
            type: FailureType.CommandFailed,
          });
        out.push({ name, status: a.status });
        s.progress({ checked: out.length, of: names.length });
      }
      return out;
    });
  }

  return { deployStacks, removeStacks, stopAppStacks, checkSitesServed };
}
