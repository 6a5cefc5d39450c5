import * as os from 'node:os';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../../common/failure-types';
import type { SsPaths } from '../../common/paths';
import { RemoteRecord, usableRemoteRecord, writeRemoteRecord } from '../../common/remotes';
import type { LxdClient } from '../lxd/client';
import type { LxdConnector } from '../lxd/connector';
import { inspectArgv, parseFacts } from '../host/inspect';
import type { SshTarget } from '../ssh/connect';
import type { SshConnector } from '../ssh/connector';
import type { SshStep } from '../ssh/step';
import {
  CurrentSetup,
  describeChange,
  desiredSetup,
  httpsAddress,
  planSetup,
  SetupChange,
  SetupConflict,
  SetupOptions,
} from '../../common/remote-setup';
import { CREATED_KEY, PREVIOUS_ROOT_KEY } from '../../common/remote-setup';

/**
 * Provisioning a remote's LXD. Until the host trusts our certificate over
 * HTTPS, the API is reached through its unix socket forwarded over the
 * pinned SSH connection: the same typed REST client, no `lxc` shell-outs,
 * no password. Afterwards everything uses HTTPS with the pinned server cert.
 */

export interface ConfigureLxdResult {
  backend: 'lxd' | 'incus';
  version: string;
  endpoint: string;
  serverCertPem: string;
  serverFingerprint: string;
  /** What was changed, one line each; empty when the host already matched. */
  changes: string[];
}

/**
 * Runs `fn` with an LxdClient on the host's unix socket, tunnelled through
 * SSH, as a progress-heartbeating step: `fn` reports what it changed, and
 * while it waits on LXD (creating a ZFS pool can take a while) the SSH
 * connection's liveness probe counts as progress. The socket is found anew
 * each time (by backend), so a daemon that came up after the install step,
 * or moved, is still found.
 */
async function lxdOverSsh<T>(
  clients: { ssh: SshConnector; lxd: LxdConnector },
  target: SshTarget,
  backend: 'lxd' | 'incus',
  initial: unknown,
  fn: (lxd: LxdClient, s: SshStep) => Promise<T>,
): Promise<T> {
  return clients.ssh.step(`LXD on ${target.host}`, target, initial, async (s) => {
    const facts = parseFacts(
      (await s.runChecked(inspectArgv('dir', undefined), { timeoutMs: 20_000 })).stdout,
      backend,
    );
    if (!facts.socketPath) {
      throw ApplicationFailure.create({ message: `No ${backend} socket on ${target.host}; is the daemon running?` }); // retryable: it may be starting
    }
    if (!facts.socketAccess) {
      throw ApplicationFailure.nonRetryable(
        `${target.user} cannot use ${facts.socketPath} on ${target.host}.`,
        FailureType.Privileges,
      );
    }
    const lxd = clients.lxd.stream({
      label: `ssh://${target.user}@${target.host}:${target.port}${facts.socketPath}`,
      connect: (cb) => s.client.openssh_forwardOutStreamLocal(facts.socketPath, cb),
    });
    try {
      return await s.whileQuiet(() => fn(lxd, s));
    } finally {
      lxd.close();
    }
  });
}

async function readCurrent(lxd: LxdClient): Promise<CurrentSetup> {
  const server = await lxd.server();
  const pools = await lxd.listStoragePools();
  const networks = await lxd.listNetworks();
  const profile = await lxd.getProfile('default');
  return {
    serverConfig: Object.fromEntries(Object.entries(server.config ?? {}).map(([k, v]) => [k, String(v)])),
    pools: Object.fromEntries(pools.map((p) => [p.name, { driver: p.driver, config: p.config ?? {} }])),
    networks: Object.fromEntries(
      networks.map((n) => [
        n.name,
        { type: n.type, managed: n.managed, description: n.description ?? '', config: n.config ?? {} },
      ]),
    ),
    defaultProfileDevices: profile?.devices ?? {},
  };
}

async function apply(lxd: LxdClient, change: SetupChange): Promise<void> {
  switch (change.kind) {
    case 'server-config':
      return lxd.patchServer({ config: change.config });
    case 'create-pool':
      return lxd.createStoragePool({
        name: change.pool.name,
        driver: change.pool.driver,
        description: change.pool.description,
        config: change.pool.config,
      });
    case 'create-network':
      return lxd.createNetwork({
        name: change.network.name,
        type: 'bridge',
        description: change.network.description,
        config: { ...change.network.config, [CREATED_KEY]: 'true' },
      });
    case 'update-network':
      return lxd.patchNetwork(change.name, {
        ...(change.description !== undefined ? { description: change.description } : {}),
        config: change.config,
      });
    case 'set-root-disk': {
      // The host remembers where the root disk was, so deprovisioning can put it back even
      // after this machine forgot the remote (or from another management machine).
      const profile = await lxd.getProfile('default');
      const remembered = profile?.config?.[PREVIOUS_ROOT_KEY];
      const previous = profile?.devices?.root;
      const config: Record<string, string> =
        remembered || !previous ? {} : { [PREVIOUS_ROOT_KEY]: JSON.stringify(previous) };
      return lxd.patchProfile('default', { config, devices: { root: change.device } });
    }
  }
}

/** Cancels pending certificate tokens named `name`, so retries do not pile up usable tokens. */
async function removePendingTokens(lxd: LxdClient, name: string): Promise<void> {
  const ops = await lxd.get<{ running?: { id: string; class: string; metadata?: { request?: { name?: string } } }[] }>(
    '/1.0/operations',
    undefined,
    { recursion: '1' },
  );
  for (const op of ops.running ?? []) {
    if (op.class === 'token' && op.metadata?.request?.name === name)
      await lxd.mutate('DELETE', `/1.0/operations/${op.id}`, undefined);
  }
}

export function createRemoteActivities({ paths, ssh, lxd }: { paths: SsPaths; ssh: SshConnector; lxd: LxdConnector }) {
  const clients = { ssh, lxd };
  /**
   * Brings the host's LXD to ss-remote's setup, changing only what differs
   * (each change is itself idempotent, so a retry after a partial apply
   * re-plans and finishes the rest).
   */
  async function configureLxd(
    target: SshTarget,
    o: { backend: 'lxd' | 'incus'; setup: SetupOptions },
  ): Promise<ConfigureLxdResult> {
    return lxdOverSsh(clients, target, o.backend, { applying: 'reading the current setup' }, async (lxd, s) => {
      const running = (await lxd.server()).environment?.server;
      if (running && running !== o.backend) {
        throw ApplicationFailure.nonRetryable(
          `${target.host} runs ${running}, not ${o.backend}; pass --backend ${running}.`,
          FailureType.Validation,
        );
      }
      let plan: SetupChange[];
      try {
        plan = planSetup(await readCurrent(lxd), desiredSetup(o.setup, o.backend));
      } catch (err) {
        if (err instanceof SetupConflict)
          throw ApplicationFailure.nonRetryable(`${target.host}: ${err.message}`, FailureType.Validation);
        throw err;
      }
      const changes: string[] = [];
      for (const change of plan) {
        s.progress({ applying: describeChange(change) });
        await apply(lxd, change);
        changes.push(describeChange(change));
      }
      const server = await lxd.server();
      const env = server.environment;
      if (!env?.certificate)
        throw ApplicationFailure.nonRetryable(
          `${target.host}'s LXD did not report its certificate`,
          FailureType.Validation,
        );
      return {
        backend: env.server === 'incus' ? 'incus' : 'lxd',
        version: env.server_version,
        endpoint: `https://${httpsAddress(o.setup.mgmtIp, o.setup.apiPort)}`,
        serverCertPem: env.certificate,
        serverFingerprint: env.certificate_fingerprint,
        changes,
      };
    });
  }

  /**
   * Makes the API trust this management machine's client certificate: a
   * one-time token created over the SSH-tunnelled socket, redeemed over
   * HTTPS with the client certificate against the pinned server
   * certificate (which also proves the API is reachable). Skipped when the
   * certificate is already trusted.
   */
  async function trustManagementCertificate(
    target: SshTarget,
    o: { backend: 'lxd' | 'incus'; remote: string; endpoint: string; serverCertPem: string },
  ): Promise<{ alreadyTrusted: boolean; clientFingerprint: string }> {
    const cert = await lxd.clientCert();
    const https = await lxd.remote(o);
    try {
      if ((await https.server()).auth === 'trusted')
        return { alreadyTrusted: true, clientFingerprint: cert.fingerprint };
      const name = `ssw-${o.remote}-${os.hostname()}`.replace(/[^A-Za-z0-9._-]/g, '-');
      const token = await lxdOverSsh(clients, target, o.backend, { trusting: 'token' }, async (api) => {
        await removePendingTokens(api, name); // an earlier attempt's unused token (LXD 5.0's never expire)
        return api.createTrustToken(name);
      });
      const after = await https.trustWithToken(token, name);
      if (after.auth !== 'trusted') {
        throw ApplicationFailure.nonRetryable(
          `${o.endpoint} accepted the token but still does not trust this machine's certificate`,
          FailureType.AuthFailed,
        );
      }
      return { alreadyTrusted: false, clientFingerprint: cert.fingerprint };
    } finally {
      https.close();
    }
  }

  /** Writes $SS_ROOT/remotes/NAME/remote.json: the last step, so a failed add leaves no record. */
  async function recordRemote(rec: Omit<RemoteRecord, 'provisionedAt'>): Promise<void> {
    // A re-add keeps what the first add knew about the host key it pinned.
    const pinnedHostKeyType = usableRemoteRecord(paths, rec.name)?.pinnedHostKeyType;
    writeRemoteRecord(paths, { ...rec, pinnedHostKeyType, provisionedAt: new Date().toISOString() });
  }

  return { configureLxd, trustManagementCertificate, recordRemote };
}
