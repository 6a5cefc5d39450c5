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
  /**
   * testBridge: the deployments' data-plane test network (DATA_PLANE_NETWORK); baseImage: the debootstrap image's
   * alias.
   */
  lxd: {
    dir: string;
    socket: string;
    httpsAddress: string;
    testBridge: string;
    testBridgeAddress: string;
    baseImage: string;
  };
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
