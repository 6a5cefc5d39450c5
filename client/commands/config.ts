import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as Config from '../../common/config';
import { ConfigError, ConfigProblem } from '../../common/errors';
import { subdirectories } from '../../common/local-dirs';
import type { SsPaths } from '../../common/paths';
import { GlobalArgs, pathsOf } from '../context';
import { defineCommand, defineGroup, type Command } from '../define-command';
import type { CliIO } from '../io';

interface ConfigArgs {
  remote?: string;
  deployment?: string;
  site?: string;
}

interface Checked {
  remotes: string[];
  deployments: string[];
  sites: string[];
  /**
   * Each checked remote's deployments: its DEPLOYMENT_STRING's, or without one those linked under
   * remotes/R/projects/ (ss-up and ssw link each deployment they bring up there).
   */
  remoteDeployments: Record<string, string[]>;
}

function dirsWith(dir: string, file: string): string[] {
  return subdirectories(dir).filter((name) => fs.existsSync(path.join(dir, name, file)));
}

/** Every config file that exists under $SS_ROOT, each loaded on its own; all problems together. Writes no stubs. */
function checkAll(
  paths: SsPaths,
  { loadProjectConfig, loadRemoteConfig, loadSiteConfig, remoteDeployments }: typeof Config,
): Checked {
  const checked: Checked = {
    remotes: dirsWith(path.join(paths.root, 'remotes'), 'remote.conf'),
    deployments: dirsWith(path.join(paths.root, 'projects'), 'project.conf'),
    sites: dirsWith(path.join(paths.root, 'sites'), 'site.conf'),
    remoteDeployments: {},
  };
  const problems: ConfigProblem[] = [];
  const attempt = (load: () => unknown) => {
    try {
      load();
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems);
      else throw err;
    }
  };
  for (const r of checked.remotes)
    attempt(() => (checked.remoteDeployments[r] = remoteDeployments(paths, loadRemoteConfig(paths, r))));
  for (const d of checked.deployments) attempt(() => loadProjectConfig(paths, d));
  for (const s of checked.sites) attempt(() => loadSiteConfig(paths, s));
  if (problems.length > 0) throw new ConfigError(problems);
  return checked;
}

export function configCommand(io: CliIO): Command {
  return defineGroup({
    name: 'config',
    describe: 'Validate the Sovereign Stack config under $SS_ROOT (remote.conf, project.conf, site.conf)',
    subcommands: [
      defineCommand({
        command: 'check',
        describe: 'Report every problem at once (exit 2), or write stubs for missing files (exit 1)',
        builder: (y) =>
          y.options({
            remote: {
              type: 'string',
              describe: 'Check this remote (with --deployment: the whole deployment, as ssw up would)',
            },
            deployment: {
              type: 'string',
              describe: "Check this deployment's project.conf (with --remote: and its sites)",
            },
            site: { type: 'string', describe: "Check this site's site.conf" },
          }),
        handler: (args) => checkConfig(io, args),
      }),
    ],
  });
}

async function checkConfig(io: CliIO, args: GlobalArgs & ConfigArgs): Promise<void> {
  const paths = pathsOf(args);
  // zod and the schemas load only when a config is checked: `ssw --help` stays fast.
  const config = await import('../../common/config');
  const { loadDeploymentConfig, loadProjectConfig, loadRemoteConfig, loadSiteConfig, remoteDeployments } = config;
  let checked: Checked;
  if (args.remote && args.deployment) {
    const d = loadDeploymentConfig(paths, { remote: args.remote, deployment: args.deployment });
    checked = {
      remotes: [args.remote],
      deployments: [args.deployment],
      sites: d.sites.map((s) => s.domain),
      remoteDeployments: { [args.remote]: remoteDeployments(paths, d.remote) },
    };
  } else if (args.remote || args.deployment || args.site) {
    const remote = args.remote ? loadRemoteConfig(paths, args.remote) : undefined;
    if (args.deployment) loadProjectConfig(paths, args.deployment);
    if (args.site) loadSiteConfig(paths, args.site);
    checked = {
      remotes: args.remote ? [args.remote] : [],
      deployments: args.deployment ? [args.deployment] : [],
      sites: args.site ? [args.site] : [],
      remoteDeployments: remote ? { [remote.name]: remoteDeployments(paths, remote) } : {},
    };
  } else {
    checked = checkAll(paths, config);
  }
  if (args.json) {
    io.out(JSON.stringify({ valid: true, ssRoot: paths.root, ...checked }, null, 2));
    return;
  }
  const n = checked.remotes.length + checked.deployments.length + checked.sites.length;
  if (n === 0) {
    io.out(
      `No config files under ${paths.root} yet (remotes/*/remote.conf, projects/*/project.conf, sites/*/site.conf).`,
    );
    return;
  }
  const part = (label: string, xs: string[]) => (xs.length ? `${label} ${xs.join(', ')}` : '');
  // "home (public, intranet)": the deployments of each remote, when it has any.
  const remotes = checked.remotes.map((r) => {
    const ds = checked.remoteDeployments[r] ?? [];
    return ds.length ? `${r} (${ds.join(', ')})` : r;
  });
  io.out(
    `Configuration under ${paths.root} is valid: ${[part('remotes', remotes), part('deployments', checked.deployments), part('sites', checked.sites)].filter(Boolean).join('; ')}.`,
  );
}
