import type { SshTarget } from '../activities/ssh';
import type { Backend, BackendChoice } from '../common/backend';
import { hostInstall as install, hostSteps as host } from './activity-options';
import { Progress } from './progress';

/**
 * provisionRemote: take a bare Debian/Ubuntu host under management (ss-remote).
 * Every step looks before it acts, so running `ssw remote add` again, or
 * resuming after a crash, changes only what still differs.
 */
export interface ProvisionRemoteInput {
  remote: string;
  target: SshTarget;
  /** "dir" (test hosts), "loop" (ZFS on a loop file) or a block device for ZFS. */
  disk: string;
  /** Defaults to the interface of the host's default route, as ss does. */
  dataPlaneInterface?: string;
  /** `auto`: the one the host runs; on a bare host, Incus (as Sovereign Stack). */
  backend: BackendChoice;
  /** Port of the LXD API on the management address. */
  apiPort: number;
}

export interface ProvisionRemoteResult {
  remote: string;
  endpoint: string;
  backend: Backend;
  version: string;
  serverFingerprint: string;
  installed: string[];
  /** One line per LXD change made; empty when the host already matched. */
  changes: string[];
  trust: 'added' | 'already-trusted';
}

const STEPS = {
  ssh: 'Reach SSH with the pinned host key',
  inspect: 'Inspect the host (OS, privileges, disk, interface, LXD or Incus)',
  install: 'Install LXD or Incus and storage tools',
  configure: 'Configure LXD or Incus: API address, storage pool, bridges, default profile',
  trust: "Trust this management machine's certificate",
  record: 'Record the remote',
};

export async function provisionRemote(input: ProvisionRemoteInput): Promise<ProvisionRemoteResult> {
  const { remote, target, disk, apiPort } = input;
  const progress = Progress.start('provision-remote', { remote }, Object.values(STEPS));

  await progress.step(STEPS.ssh, () => host.sshCheck(target));
  const inspected = await progress.step(STEPS.inspect, () =>
    host.inspectHost(target, { disk, dataPlaneInterface: input.dataPlaneInterface, backend: input.backend }),
  );
  // Detected once (when auto); every later step works with that backend.
  const backend: Backend = inspected.backend ?? (input.backend === 'auto' ? 'lxd' : input.backend);
  const req = { disk, dataPlaneInterface: input.dataPlaneInterface, backend };

  const { installed, facts } = await progress.step(STEPS.install, () => install.installHostPackages(target, req));
  if (installed.length === 0) progress.skip(STEPS.install, `${backend} already installed`);

  const dataPlaneInterface = input.dataPlaneInterface || facts.defaultInterface;
  const lxd = await progress.step(STEPS.configure, () =>
    host.configureLxd(target, { backend, setup: { mgmtIp: facts.mgmtIp, apiPort, disk, dataPlaneInterface } }),
  );

  const trust = await progress.step(STEPS.trust, () =>
    host.trustManagementCertificate(target, {
      backend,
      remote,
      endpoint: lxd.endpoint,
      serverCertPem: lxd.serverCertPem,
    }),
  );

  await progress.step(STEPS.record, () =>
    host.recordRemote({
      name: remote,
      ssh: {
        host: target.host,
        port: target.port,
        user: target.user,
        privateKeyPath: target.privateKeyPath,
        useAgent: target.useAgent,
      },
      backend: lxd.backend,
      version: lxd.version,
      endpoint: lxd.endpoint,
      serverCertPem: lxd.serverCertPem,
      serverFingerprint: lxd.serverFingerprint,
      disk,
      dataPlaneInterface,
    }),
  );

  progress.finish();
  return {
    remote,
    endpoint: lxd.endpoint,
    backend: lxd.backend,
    version: lxd.version,
    serverFingerprint: lxd.serverFingerprint,
    installed,
    changes: lxd.changes,
    trust: trust.alreadyTrusted ? 'already-trusted' : 'added',
  };
}
