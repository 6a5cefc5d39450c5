import * as fs from 'node:fs';
import * as https from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { withDocker } from '../../activities/docker/connect';
import { runChecked, withSsh } from '../../activities/ssh';
import type { SsPaths } from '../../common/paths';
import { backendUnderTest, harness } from './harness';

/**
 * Config files and probes for e2e suites that bring up deployments serving sites on the harness: www instances on
 * the test bridge with fixed addresses, certificates from pebble over http-01, stand-in app images copied air-gapped
 * from the harness Docker.
 */

/** A deployment of a www instance only (no btcpayserver), its sites served by stand-ins. */
export interface WwwDeploymentSpec {
  deployment: string;
  primaryDomain: string;
  otherSites?: string[];
  mac: string;
  /** Its fixed address on the test bridge of the backend under test (its DHCP reserves it for the MAC). */
  address: string;
  cpuCount?: number;
  memoryMb?: number;
  /** Extra project.conf lines (KEY=value). */
  extra?: string[];
}

/** The remote's conf: its deployments and their chains, the test bridge as data plane, pebble as ACME server. */
export function writeRemoteConf(paths: SsPaths, remote: string, deployments: [name: string, chain: string][]): void {
  const h = harness();
  fs.writeFileSync(
    paths.remoteConf(remote),
    [
      `DEPLOYMENT_STRING="${deployments.map(([d, c]) => `(${d}|${c})`).join(',')}"`,
      `DATA_PLANE_NETWORK=${backendUnderTest().testBridge}`,
      'IMAGE_SOURCE=airgapped',
      `ACME_SERVER=${h.acme.directory}`,
      `ACME_CA_BUNDLE=${h.acme.caBundle}`,
      '',
    ].join('\n'),
  );
}

export function writeProjectConf(paths: SsPaths, spec: WwwDeploymentSpec): void {
  const h = harness();
  fs.mkdirSync(`${paths.root}/projects/${spec.deployment}`, { recursive: true });
  fs.writeFileSync(
    paths.projectConf(spec.deployment),
    [
      `PRIMARY_DOMAIN=${spec.primaryDomain}`,
      ...(spec.otherSites?.length ? [`OTHER_SITES_LIST=${spec.otherSites.join(',')}`] : []),
      'INSTANCE_TYPE=container',
      `BASE_IMAGE=${backendUnderTest().baseImage}`,
      `WWW_SERVER_MAC_ADDRESS=${spec.mac}`,
      `WWW_SERVER_IPV4_ADDRESS=${spec.address}`,
      `WWW_SERVER_CPU_COUNT=${spec.cpuCount ?? 1}`,
      `WWW_SERVER_MEMORY_MB=${spec.memoryMb ?? 1024}`,
      // pebble validates http-01 on this port; the proxy answers there.
      `PROXY_HTTP_PORT=${h.acme.httpPort}`,
      'NGINX_IMAGE=ssw-test-nginx:1',
      ...['GHOST', 'GHOST_DB', 'NEXTCLOUD', 'NEXTCLOUD_DB', 'GITEA', 'GITEA_DB', 'NOSTR_RELAY'].map(
        (k) => `${k}_IMAGE=ssw-test-standin:1`,
      ),
      ...(spec.extra ?? []),
      '',
    ].join('\n'),
  );
}

/** A site.conf (0600) with its own passwords and passphrase, derived from the domain; `lines` adds to or overrides. */
export function writeSiteConf(paths: SsPaths, domain: string, lines: string[] = ['DEPLOY_GHOST=true']): void {
  const tag = domain.replace(/\W/g, '-');
  fs.mkdirSync(paths.siteDir(domain), { recursive: true });
  fs.writeFileSync(
    paths.siteConf(domain),
    [
      `DOMAIN_NAME=${domain}`,
      ...lines,
      `GHOST_MYSQL_PASSWORD=${tag}-ghost-pw`,
      `GHOST_MYSQL_ROOT_PASSWORD=${tag}-ghost-root`,
      `GITEA_MYSQL_PASSWORD=${tag}-gitea-pw`,
      `GITEA_MYSQL_ROOT_PASSWORD=${tag}-gitea-root`,
      `DUPLICITY_BACKUP_PASSPHRASE=${tag}-backup-passphrase`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}

/** pebble-challtestsrv answers A queries for these names with `address` (what pebble validates http-01 against). */
export async function pointNames(names: string[], address: string): Promise<void> {
  for (const name of names) {
    const res = await fetch(`${harness().acme.challtestsrvManagement}/add-a`, {
      method: 'POST',
      body: JSON.stringify({ host: `${name}.`, addresses: [address] }),
    });
    if (res.status !== 200) throw new Error(`challtestsrv add-a ${name}: HTTP ${res.status}`);
  }
}

export async function clearNames(names: string[]): Promise<void> {
  for (const name of names)
    await fetch(`${harness().acme.challtestsrvManagement}/clear-a`, {
      method: 'POST',
      body: JSON.stringify({ host: `${name}.` }),
    }).catch(() => undefined);
}

/** The root pebble signs its certificates with (PEM), as a browser trusting that CA would have it. */
export function pebbleRoot(): Promise<string> {
  const h = harness();
  return new Promise<string>((resolve, reject) => {
    https
      .get(`${h.acme.pebbleManagement}/roots/0`, { ca: fs.readFileSync(h.acme.caBundle) }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

export interface HttpsAnswer {
  status: number;
  body: string;
  issuer: string;
  /** The served certificate's DNS names, sorted. */
  names: string[];
  /** Its SHA-256 fingerprint. */
  fingerprint: string;
}

/**
 * HTTPS to `address` for the name `host` (SNI and Host), verified against `ca`. No agent: a fresh TLS session every
 * time, so the peer certificate is always there to read (a resumed one has none).
 */
export function httpsGet(address: string, host: string, urlPath: string, ca: string): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: address,
        port: 443,
        path: urlPath,
        servername: host,
        headers: { Host: host },
        ca,
        timeout: 10_000,
        agent: false,
      },
      (res) => {
        let body = '';
        const cert = new X509Certificate((res.socket as TLSSocket).getPeerCertificate().raw);
        const names = (cert.subjectAltName ?? '')
          .split(/,\s*/)
          .filter((n) => n.startsWith('DNS:'))
          .map((n) => n.slice(4))
          .sort();
        res.on('data', (d) => (body += d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, issuer: cert.issuer, names, fingerprint: cert.fingerprint256 }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`HTTPS to ${host} (${address}) timed out`)));
    req.on('error', reject);
  });
}

export interface InstanceSsh {
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
}

/** How ssw reaches a deployment's www instance: the record `ssw up` wrote. */
export function wwwOf(paths: SsPaths, remote: string, deployment: string): InstanceSsh {
  return JSON.parse(fs.readFileSync(paths.instanceRecord(remote, deployment, 'www'), 'utf8')).ssh as InstanceSsh;
}

/** A command on a deployment's www instance, over SSH with the host key `ssw up` pinned; its stdout. */
export function onWww(paths: SsPaths, remote: string, deployment: string, argv: string[]): Promise<string> {
  return withSsh(
    wwwOf(paths, remote, deployment),
    { hostKeys: { knownHostsFile: paths.knownHosts, mode: 'pinned' } },
    async ({ client }) => (await runChecked(client, argv, { timeoutMs: 30_000 })).stdout,
  );
}

/** Every ssw container on a deployment's www instance: name → container ID. */
export function stackContainers(paths: SsPaths, remote: string, deployment: string): Promise<Record<string, string>> {
  return withDocker(paths, wwwOf(paths, remote, deployment), async (d) =>
    Object.fromEntries(
      (await d.listContainers({ all: true, filters: { label: ['ssw.stack'] } })).map((c) => [
        c.Names[0]!.slice(1),
        c.Id,
      ]),
    ),
  );
}
