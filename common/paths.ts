import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The management machine's layout under $SS_ROOT (Sovereign Stack's ~/ss),
 * so every module agrees where things live.
 */
export function defaultSsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.SS_ROOT && env.SS_ROOT.length > 0 ? path.resolve(env.SS_ROOT) : path.join(os.homedir(), 'ss');
}

export class SsPaths {
  constructor(readonly root: string) {}

  remoteDir(remote: string): string {
    return path.join(this.root, 'remotes', remote);
  }
  remoteConf(remote: string): string {
    return path.join(this.remoteDir(remote), 'remote.conf');
  }
  /** What ssw learned when it provisioned the remote (endpoint, pinned certificate); written by provisionRemote. */
  remoteRecord(remote: string): string {
    return path.join(this.remoteDir(remote), 'remote.json');
  }
  /** The default remote, as `ssw remote switch` sets it. */
  get currentRemoteFile(): string {
    return path.join(this.root, 'current_remote');
  }
  projectDir(deployment: string): string {
    return path.join(this.root, 'projects', deployment);
  }
  projectConf(deployment: string): string {
    return path.join(this.projectDir(deployment), 'project.conf');
  }
  siteDir(domain: string): string {
    return path.join(this.root, 'sites', domain);
  }
  siteConf(domain: string): string {
    return path.join(this.siteDir(domain), 'site.conf');
  }
  /** Encrypted copies of a site's certificates (`ssw cert renew` writes, `ssw cert restore` reads). */
  certBackupDir(domain: string): string {
    return path.join(this.siteDir(domain), 'certs');
  }
  /** How to reach a deployment's instance over SSH (written when the instance is created). */
  instanceRecord(remote: string, deployment: string, instance: string): string {
    return path.join(this.remoteDir(remote), 'deployments', deployment, 'instances', `${instance}.json`);
  }
  get keysDir(): string {
    return path.join(this.root, 'keys');
  }
  get payloadKey(): string {
    return path.join(this.keysDir, 'payload.key');
  }
  get knownHosts(): string {
    return path.join(this.root, 'known_hosts');
  }
  get temporalDir(): string {
    return path.join(this.root, 'temporal');
  }
  get temporalDb(): string {
    return path.join(this.temporalDir, 'temporal.db');
  }
}
