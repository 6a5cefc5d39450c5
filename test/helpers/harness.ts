import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * What `test/harness/start.sh` started, read from `$SSW_HARNESS_DIR/env.json`.
 * Suites call `harness()`; when the harness is not running it throws, so a
 * suite whose service is missing fails loudly instead of skipping.
 */
export interface HarnessEnv {
  dir: string;
  temporal: { address: string; namespace: string; uiPort: number; bin: string };
  ssh: {
    host: string; // always 127.0.0.1
    port: number;
    user: string;
    /** Neither root nor a sudoer; logs in with the same key. */
    unprivilegedUser: string;
    privateKeyPath: string; // the client key authorized on the harness sshd
    hostPublicKeyPath: string; // the sshd's ed25519 host public key (OpenSSH .pub format)
    hostKeyLine: string; // "[127.0.0.1]:PORT ssh-ed25519 AAAA..." ready for a known_hosts file
  };
  docker: { socket: string };
  /** The harness LXD 5.0, and the host (sshd port) that runs it. */
  lxd: HarnessDaemon;
  /** The harness Incus 6.0, and the host (the sshd's second port) that runs it and no LXD. */
  incus: HarnessDaemon;
  acme: {
    /** Pebble's ACME directory URL. */
    directory: string;
    /** The CA of pebble's own HTTPS listener (for REQUESTS_CA_BUNDLE / ACME_CA_BUNDLE). */
    caBundle: string;
    /** The port pebble validates http-01 challenges on (127.0.0.1). */
    httpPort: number;
    pebbleManagement: string;
    /** pebble-challtestsrv's API: POST /add-a {host, addresses} points a name elsewhere. */
    challtestsrvManagement: string;
  };
  /** test/harness/bitcoin.sh's builds: btcd standing in for bitcoind, on this host and as images. */
  bitcoin: HarnessBitcoin;
}

/**
 * btcd and btcctl (static builds), and the ssw-bitcoind wrapper that runs btcd as the
 * btcpayserver/bitcoin image does (BITCOIN_NETWORK, BITCOIN_EXTRA_ARGS, /data/<chain>/.cookie);
 * DATA_DIR and MINING_ADDR let it run on this host as a test's miner (test/helpers/bitcoin.ts).
 */
export interface HarnessBitcoin {
  btcd: string;
  btcctl: string;
  wrapper: string;
  images: {
    /** btcd + the wrapper; CMD /entrypoint.sh. */
    bitcoind: string;
    /** NBXplorer, BTCPay Server, PostgreSQL and Core Lightning: `/standin-btcpay ROLE`. */
    standin: string;
  };
}

/**
 * One container manager of the harness. testBridge: the deployments' data-plane test network
 * (DATA_PLANE_NETWORK); baseImage: the debootstrap image's alias; sshPort/hostKeyLine: the host
 * whose sessions see this daemon (and only it).
 */
export interface HarnessDaemon {
  backend: 'lxd' | 'incus';
  dir: string;
  socket: string;
  httpsAddress: string;
  testBridge: string;
  testBridgeAddress: string;
  baseImage: string;
  sshPort: number;
  hostKeyLine: string;
}

/**
 * The backend the backend-parametrised suites (remote, deployment, services) run against:
 * `SSW_TEST_BACKEND` (lxd or incus; test/run.js runs them once with each), default lxd.
 */
export function backendUnderTest(): HarnessDaemon {
  const b = process.env.SSW_TEST_BACKEND ?? 'lxd';
  if (b !== 'lxd' && b !== 'incus') throw new Error(`SSW_TEST_BACKEND must be lxd or incus, got ${JSON.stringify(b)}`);
  const d = harness()[b];
  if (!d) throw new Error(`The running harness has no ${b} (restart it: bash test/harness/start.sh)`);
  return d;
}

/**
 * A port of this test's own for the API of the backend under test: LXD's and Incus's test
 * ports are apart, so a listener one suite left behind never collides with the other's.
 */
export function apiPortFor(lxdPort: number): number {
  return backendUnderTest().backend === 'incus' ? lxdPort + 300 : lxdPort;
}

export function harnessDir(): string {
  return process.env.SSW_HARNESS_DIR ?? '/var/tmp/ssw-harness';
}

let cached: HarnessEnv | undefined;

export function harness(): HarnessEnv {
  if (cached) return cached;
  const file = path.join(harnessDir(), 'env.json');
  if (!fs.existsSync(file)) {
    throw new Error(`The test harness is not running (${file} is missing). Start it with: bash test/harness/start.sh`);
  }
  cached = JSON.parse(fs.readFileSync(file, 'utf8')) as HarnessEnv;
  return cached;
}
