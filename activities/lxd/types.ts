/**
 * The fields of LXD/Incus API objects that ssw reads or writes. Everything
 * else the server sends is kept (index signatures) but untyped, so a newer
 * server with more fields still parses.
 */

export type LxdConfig = Record<string, string>;
export type LxdDevices = Record<string, Record<string, string>>;

export interface LxdServer {
  api_extensions: string[];
  api_version: string;
  api_status?: string;
  auth: 'trusted' | 'untrusted';
  auth_methods?: string[];
  config?: Record<string, unknown>;
  /** Present only when the client is trusted. */
  environment?: {
    /** `lxd` or `incus`. */
    server: string;
    server_name: string;
    server_version: string;
    /** The server's TLS certificate (PEM). */
    certificate: string;
    certificate_fingerprint: string;
    addresses?: string[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface LxdCertificate {
  name: string;
  type: string;
  fingerprint: string;
  certificate?: string;
  restricted?: boolean;
  projects?: string[];
  [k: string]: unknown;
}

/** The decoded content of a certificate add token (`lxc config trust add`). */
export interface LxdTrustToken {
  client_name: string;
  /** The server's certificate fingerprint: lets a client pin the server from the token alone. */
  fingerprint: string;
  addresses: string[];
  secret: string;
  expires_at?: string;
  [k: string]: unknown;
}

export interface LxdProject {
  name: string;
  description?: string;
  config: LxdConfig;
  used_by?: string[];
  [k: string]: unknown;
}
export interface LxdProjectCreate {
  name: string;
  description?: string;
  config?: LxdConfig;
}

export interface LxdProfile {
  name: string;
  description?: string;
  config: LxdConfig;
  devices: LxdDevices;
  used_by?: string[];
  [k: string]: unknown;
}
export interface LxdProfilePut {
  description?: string;
  config?: LxdConfig;
  devices?: LxdDevices;
}
export interface LxdProfileCreate extends LxdProfilePut {
  name: string;
}

export interface LxdNetwork {
  name: string;
  type: string;
  managed: boolean;
  description?: string;
  config: LxdConfig;
  status?: string;
  used_by?: string[];
  [k: string]: unknown;
}
export interface LxdNetworkCreate {
  name: string;
  /** e.g. `bridge`, `ovn`. */
  type?: string;
  description?: string;
  config?: LxdConfig;
}
export interface LxdNetworkPatch {
  description?: string;
  config?: LxdConfig;
}

export interface LxdStoragePool {
  name: string;
  driver: string;
  description?: string;
  config: LxdConfig;
  status?: string;
  used_by?: string[];
  [k: string]: unknown;
}
export interface LxdStoragePoolCreate {
  name: string;
  driver: string;
  description?: string;
  config?: LxdConfig;
}
export interface LxdStoragePoolPatch {
  description?: string;
  config?: LxdConfig;
}

export interface LxdStorageVolume {
  name: string;
  type: string;
  description?: string;
  config: LxdConfig;
  content_type?: 'filesystem' | 'block' | string;
  location?: string;
  used_by?: string[];
  [k: string]: unknown;
}
export interface LxdStorageVolumeCreate {
  name: string;
  description?: string;
  /** e.g. `{ size: '20GiB' }`. */
  config?: LxdConfig;
  /** @default 'filesystem' */
  content_type?: 'filesystem' | 'block';
}
export interface LxdStorageVolumePatch {
  description?: string;
  config?: LxdConfig;
}

export interface LxdImageAlias {
  name: string;
  target: string;
  description?: string;
  type?: string;
  [k: string]: unknown;
}
export interface LxdImage {
  fingerprint: string;
  aliases: { name: string; description?: string }[];
  properties?: Record<string, string>;
  type?: 'container' | 'virtual-machine' | string;
  size?: number;
  architecture?: string;
  [k: string]: unknown;
}

export type LxdInstanceType = 'container' | 'virtual-machine';

export interface LxdInstance {
  name: string;
  type: LxdInstanceType | string;
  project?: string;
  status: string;
  status_code?: number;
  description?: string;
  config: LxdConfig;
  devices: LxdDevices;
  expanded_config?: LxdConfig;
  expanded_devices?: LxdDevices;
  profiles: string[];
  ephemeral?: boolean;
  location?: string;
  [k: string]: unknown;
}
export interface LxdInstanceCreate {
  name: string;
  type?: LxdInstanceType;
  description?: string;
  profiles?: string[];
  config?: LxdConfig;
  devices?: LxdDevices;
  /**
   * e.g. `{ type: 'image', alias: 'ss-base' }` or `{ type: 'image', fingerprint }`; `{ type: 'none' }` for an empty
   * instance.
   */
  source: { type: 'image' | 'none' | string; alias?: string; fingerprint?: string; [k: string]: unknown };
  /** Start it once created (LXD ≥ 5.x `instance_create_start`; older servers ignore it: start explicitly). */
  start?: boolean;
}
export interface LxdInstanceState {
  status: string;
  status_code: number;
  network?: Record<
    string,
    {
      addresses: { family: string; address: string; netmask: string; scope: string }[];
      hwaddr?: string;
      state?: string;
      [k: string]: unknown;
    }
  >;
  [k: string]: unknown;
}
export interface LxdInstanceStatePut {
  action: 'start' | 'stop' | 'restart' | 'freeze' | 'unfreeze';
  /** Seconds to wait for a clean stop before failing (or forcing with `force`). */
  timeout?: number;
  force?: boolean;
  stateful?: boolean;
}

/** LXD's operation status codes: 1xx running, 200 success, 400 failure, 401 cancelled. */
export interface LxdOperation {
  id: string;
  class?: string;
  description?: string;
  status: string;
  status_code: number;
  resources?: Record<string, string[]> | null;
  metadata?: Record<string, unknown> | null;
  may_cancel?: boolean;
  err?: string;
  [k: string]: unknown;
}
