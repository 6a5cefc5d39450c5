import * as fs from 'node:fs';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { loadDeploymentConfig, type DeploymentConfig, type SiteConfig } from '../../common/config';
import { FailureType } from '../../common/failure-types';
import type { SsPaths } from '../../common/paths';
import { appStacks } from '../../common/stacks/apps';
import { proxyStack, type ProxyOptions } from '../../common/stacks/proxy';
import type { SecretRef, StackSpec } from '../../common/stacks/spec';
import { readWwwHost, type InstanceRecord } from '../../common/tls/resolve';
import { configured } from '../config';
import { whileBeating } from '../heartbeat';
import { runChecked, withSsh, type SshTarget } from '../ssh';
import { httpGetOverSsh } from '../ssh/tunnel';
import { withDocker } from './connect';
import { transferImages, type ImageTransfer } from './images';
import { applyStack, type StackApplyResult } from './stacks';

/**
 * The Docker services of a deployment's www instance (ss's www/go.sh): the
 * stacks rendered from the config, their images brought in, their
 * directories and files written, then each stack reconciled. The config and
 * its secrets are read here, when the step runs, never from workflow input.
 */

export interface DeployStacksOptions extends Pick<ProxyOptions, 'httpPort' | 'httpsPort'> {
  /** `airgapped`: copy images from this machine's Docker; `registry`: the instance's engine pulls them. @default registry */
  imageSource?: 'registry' | 'airgapped';
}

export interface DeployStacksResult {
  images: ImageTransfer[];
  stacks: StackApplyResult[];
}

/** The value of a site.conf secret a container needs. */
export function secretValue(sites: SiteConfig[], ref: SecretRef): string {
  const site = sites.find((s) => s.domain === ref.domain);
  const key = ref.secret.toLowerCase().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()) as keyof SiteConfig['secrets'];
  const value = site?.secrets[key];
  if (!value) throw ApplicationFailure.nonRetryable(`${ref.secret} is not set in the site.conf of ${ref.domain}, but a container needs it`, FailureType.Config);
  return value;
}

function btcpayUpstream(paths: SsPaths, remote: string, deployment: string): string | undefined {
  const file = paths.instanceRecord(remote, deployment, 'btcpayserver');
  if (!fs.existsSync(file)) return undefined;
  const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as InstanceRecord;
  return `${rec.ssh.host}:80`;
}

/** Every stack of the deployment, in deploy order: the proxy first (it owns the ports), then the apps. */
export function renderStacks(config: DeploymentConfig, proxy: ProxyOptions): StackSpec[] {
  const apps = appStacks(config);
  return [proxyStack(config, apps, proxy), ...apps];
}

async function writeFilesAndDirectories(paths: SsPaths, target: SshTarget, stacks: StackSpec[]): Promise<void> {
  await withSsh(target, { hostKeys: { knownHostsFile: paths.knownHosts, mode: 'pinned' } }, async ({ client }) => {
    const dirs = [...new Set(stacks.flatMap((s) => s.directories))];
    if (dirs.length) await runChecked(client, ['mkdir', '-p', ...dirs], { timeoutMs: 60_000 });
    for (const f of stacks.flatMap((s) => s.containers.flatMap((c) => c.files ?? []))) {
      // Whole or not at all: written beside, then renamed over the old file.
      await runChecked(client, ['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1.ssw-tmp" && mv -f "$1.ssw-tmp" "$1"', 'sh', f.path], { stdin: f.content, timeoutMs: 60_000 });
    }
  });
}

export function createDockerActivities({ paths }: { paths: SsPaths }) {
  /**
   * Brings the stacks named (`proxy`, or `apps`) to the config on the www
   * instance. Heartbeats which stack it is on; a retry re-reconciles, which
   * leaves finished stacks alone.
   */
  async function deployStacks(remote: string, deployment: string, which: 'proxy' | 'apps', o: DeployStacksOptions = {}): Promise<DeployStacksResult> {
    const ctx = Context.current();
    const { config, www } = configured(() => ({ config: loadDeploymentConfig(paths, { remote, deployment }), www: readWwwHost(paths, remote, deployment) }));
    const all = renderStacks(config, { btcpayUpstream: btcpayUpstream(paths, remote, deployment), httpPort: o.httpPort, httpsPort: o.httpsPort });
    const stacks = which === 'proxy' ? all.slice(0, 1) : all.slice(1);
    const progress = { stack: '', phase: 'images' };
    return whileBeating(progress, async (signal) => {
      const refs = [...new Set(stacks.flatMap((s) => s.containers.map((c) => c.image)))];
      let images: ImageTransfer[] = [];
      if (o.imageSource === 'airgapped') images = await transferImages(paths, www.ssh, refs, { signal });
      else {
        await withDocker(paths, www.ssh, async (docker) => {
          for (const ref of refs) {
            if (await docker.getImage(ref).inspect().then(() => true, () => false)) continue;
            const stream = await docker.pull(ref);
            await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
          }
        });
      }
      progress.phase = 'files';
      await writeFilesAndDirectories(paths, www.ssh, stacks);
      // Stacks are independent of each other (own networks, own containers): reconciled side by side,
      // so their readiness waits (a first health check comes after its interval) overlap.
      progress.phase = 'containers';
      progress.stack = stacks.map((s) => s.name).join(', ');
      ctx.heartbeat(progress);
      const results = await Promise.all(stacks.map((spec) => withDocker(paths, www.ssh, (docker) => applyStack(docker, spec, (ref) => secretValue(config.sites, ref), { signal }))));
      return { images, stacks: results };
    }, 5_000);
  }

  /**
   * Asks the proxy, on the instance, for every site's names over HTTP (port
   * 80: the redirect to HTTPS proves nginx answers for them) and returns
   * what each answered. Polls until all answer or the timeout passes.
   */
  async function checkSitesServed(remote: string, deployment: string, o: { httpPort?: number; timeoutMs?: number } = {}): Promise<{ name: string; status: number }[]> {
    const { config, www } = configured(() => ({ config: loadDeploymentConfig(paths, { remote, deployment }), www: readWwwHost(paths, remote, deployment) }));
    const h = config.project.hostnames;
    const names = config.sites.flatMap((s) => [s.domain, `${h.www}.${s.domain}`]);
    const port = o.httpPort ?? 80;
    return whileBeating({ checking: names.length }, () =>
      withSsh(www.ssh, { hostKeys: { knownHostsFile: paths.knownHosts, mode: 'pinned' } }, async ({ client }) => {
        const out: { name: string; status: number }[] = [];
        for (const name of names) {
          const a = await httpGetOverSsh(client, `127.0.0.1:${port}`, '/', name);
          if (a.status !== 301) throw ApplicationFailure.create({ message: `The proxy on ${www.ssh.host}:${port} answered ${a.status} for ${name}, not the redirect to HTTPS`, type: FailureType.CommandFailed });
          out.push({ name, status: a.status });
        }
        return out;
      }),
    );
  }

  return { deployStacks, checkSitesServed };
}
