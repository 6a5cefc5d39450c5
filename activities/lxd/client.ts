import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../common/failure-types';
import { httpFailure, operationFailure, operationTimeoutFailure } from './failures';
import {
  LxdTransport,
  type LxdEnvelope,
  type LxdHttpResponse,
  type LxdTransportOptions,
  type SendOptions,
} from './transport';
import type {
  LxdCertificate,
  LxdImage,
  LxdImageAlias,
  LxdInstance,
  LxdInstanceCreate,
  LxdInstanceState,
  LxdInstanceStatePut,
  LxdNetwork,
  LxdNetworkCreate,
  LxdNetworkPatch,
  LxdOperation,
  LxdProfile,
  LxdProfileCreate,
  LxdProfilePut,
  LxdProject,
  LxdProjectCreate,
  LxdServer,
  LxdStoragePool,
  LxdStoragePoolCreate,
  LxdStoragePoolPatch,
  LxdStorageVolume,
  LxdStorageVolumeCreate,
  LxdStorageVolumePatch,
  LxdTrustToken,
} from './types';

export interface LxdClientOptions extends LxdTransportOptions {
  /**
   * The LXD project that project-scoped calls (profiles, networks, volumes, images, instances) address.
   * @default the server's default project
   */
  project?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** @default the client's requestTimeoutMs */
  timeoutMs?: number;
}

export interface WaitOptions {
  /**
   * How long to wait for the operation to finish.
   * @default 600000
   */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Options of calls that may start a background operation, which the call waits for. */
export interface MutateOptions extends CallOptions {
  /** @default 600000 */
  operationTimeoutMs?: number;
}

const OPERATION_TIMEOUT_MS = 600_000;
/** Longest single server-side wait; the loop repeats it until the operation ends or the caller's deadline. */
const WAIT_SLICE_S = 30;

/** Decodes a certificate add token (base64 JSON) without contacting anything. */
export function parseTrustToken(token: string): LxdTrustToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token.trim(), 'base64').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const t = parsed as Partial<LxdTrustToken> | undefined;
  if (!t || typeof t.fingerprint !== 'string' || typeof t.secret !== 'string') {
    throw ApplicationFailure.nonRetryable(
      'Not an LXD/Incus trust token (expected the base64 text `lxc config trust add` prints)',
      FailureType.Validation,
    );
  }
  return { ...t, addresses: Array.isArray(t.addresses) ? t.addresses : [] } as LxdTrustToken;
}

const seg = encodeURIComponent;

/**
 * A small client of the LXD/Incus REST API (the same `/1.0` API on both; the
 * differences ssw meets are handled where they occur and noted there).
 * Every call that starts a background operation waits for it. `get*` return
 * undefined when the object does not exist; every other non-2xx answer
 * throws a Temporal failure (see ./failures).
 */
export class LxdClient {
  readonly project?: string;
  private readonly transport: LxdTransport;

  /** `transport` is internal: withProject shares one connection pool between clients. */
  constructor(options: LxdClientOptions, transport?: LxdTransport) {
    this.project = options.project;
    this.transport = transport ?? new LxdTransport(options);
  }

  /** How failures name this server: `https://host:port` or `unix:/path`. */
  get endpoint(): string {
    return this.transport.label;
  }

  /** The same server and connections, addressing another project. */
  withProject(project: string): LxdClient {
    return new LxdClient({ endpoint: this.transport.label, project }, this.transport);
  }

  /** Closes pooled connections, shared with clients made by withProject (idle ones never keep the process alive). */
  close(): void {
    this.transport.close();
  }

  // ---------------------------------------------------------------- server and trust

  server(o?: CallOptions): Promise<LxdServer> {
    return this.get<LxdServer>('/1.0', o);
  }

  /** Merges server config keys (e.g. `core.https_address`); keys not given stay as they are. */
  async patchServer(patch: { config: Record<string, unknown> }, o?: MutateOptions): Promise<void> {
    await this.mutate('PATCH', '/1.0', patch, o);
  }

  /**
   * Makes the server trust the client certificate this connection presents,
   * by redeeming a certificate add token (`lxc config trust add`). LXD 5.0
   * takes the token in the `password` field; LXD ≥ 5.21 announces the
   * `explicit_trust_token` extension and wants `trust_token`; Incus only knows
   * `trust_token` and lacks that extension (its extension names mention
   * "incus"). The token is posted even when already trusted, so it is used up
   * either way; "already trusted" (409) counts as success.
   */
  async trustWithToken(token: string, name?: string, o?: CallOptions): Promise<LxdServer> {
    const before = await this.server(o);
    const tokenField = usesTrustTokenField(before) ? 'trust_token' : 'password';
    // No `certificate` field: the server trusts the certificate this TLS connection presented.
    const body: Record<string, unknown> = { type: 'client', [tokenField]: token };
    if (name) body.name = name;
    const res = await this.transport.send('POST', '/1.0/certificates', { ...o, body });
    if (res.status >= 300 && res.status !== 409) {
      // LXD answers a wrong or expired token with 403 "not authorized": say what that means here.
      throw ApplicationFailure.create({
        message: `${this.endpoint} did not accept the trust token (HTTP ${res.status}: ${res.body.error || 'no error text'}). Tokens are single-use and expire; create a new one with: lxc config trust add --name ${name ?? '<name>'}`,
        type: FailureType.AuthFailed,
        nonRetryable: true,
        details: [
          {
            endpoint: this.endpoint,
            method: 'POST',
            path: '/1.0/certificates',
            status: res.status,
            error: res.body.error ?? '',
          },
        ],
      });
    }
    const after = await this.server(o);
    if (after.auth !== 'trusted') {
      throw ApplicationFailure.nonRetryable(
        `${this.endpoint} accepted the trust token but still does not trust this client certificate`,
        FailureType.AuthFailed,
      );
    }
    return after;
  }

  /**
   * Creates a certificate add token for a client named `name`, as
   * `lxc config trust add --name NAME` prints it (base64 JSON of client_name,
   * fingerprint, addresses, secret, expires_at; same format on LXD 5.0 and
   * Incus). The token lives in a background operation that ends only when it
   * is redeemed or revoked, so this does not wait for it. A secret: hand it
   * straight to trustWithToken, never to a workflow.
   */
  async createTrustToken(name: string, o?: CallOptions): Promise<string> {
    const path = '/1.0/certificates';
    const res = await this.transport.send<LxdOperation>('POST', path, {
      ...o,
      body: { name, type: 'client', token: true },
    });
    const op = this.envelopeOf(res, 'POST', path).metadata;
    const md = (op?.metadata ?? {}) as {
      secret?: unknown;
      fingerprint?: unknown;
      addresses?: unknown;
      expiresAt?: unknown;
    };
    if (typeof md.secret !== 'string' || typeof md.fingerprint !== 'string') {
      throw ApplicationFailure.nonRetryable(
        `${this.endpoint} did not return a certificate add token (does it support the certificate_token API extension?)`,
        FailureType.LxdApi,
      );
    }
    const token = {
      client_name: name,
      fingerprint: md.fingerprint,
      addresses: Array.isArray(md.addresses) ? md.addresses : [],
      secret: md.secret,
      // Go's zero time, which LXD prints for a token without expiry.
      expires_at: typeof md.expiresAt === 'string' ? md.expiresAt : '0001-01-01T00:00:00Z',
    };
    return Buffer.from(JSON.stringify(token)).toString('base64');
  }

  listCertificates(o?: CallOptions): Promise<LxdCertificate[]> {
    return this.get('/1.0/certificates', o, { recursion: '1' });
  }
  getCertificate(fingerprint: string, o?: CallOptions): Promise<LxdCertificate | undefined> {
    return this.getOrUndefined(`/1.0/certificates/${seg(fingerprint)}`, o);
  }
  async deleteCertificate(fingerprint: string, o?: MutateOptions): Promise<void> {
    await this.mutate('DELETE', `/1.0/certificates/${seg(fingerprint)}`, undefined, o);
  }

  // ---------------------------------------------------------------- projects

  listProjects(o?: CallOptions): Promise<LxdProject[]> {
    return this.get('/1.0/projects', o, { recursion: '1' });
  }
  getProject(name: string, o?: CallOptions): Promise<LxdProject | undefined> {
    return this.getOrUndefined(`/1.0/projects/${seg(name)}`, o);
  }
  async createProject(project: LxdProjectCreate, o?: MutateOptions): Promise<void> {
    await this.mutate('POST', '/1.0/projects', project, o);
  }
  async patchProject(
    name: string,
    patch: { description?: string; config?: Record<string, string> },
    o?: MutateOptions,
  ): Promise<void> {
    await this.mutate('PATCH', `/1.0/projects/${seg(name)}`, patch, o);
  }
  async deleteProject(name: string, o?: MutateOptions): Promise<void> {
    await this.mutate('DELETE', `/1.0/projects/${seg(name)}`, undefined, o);
  }

  // ---------------------------------------------------------------- profiles (project-scoped)

  listProfiles(o?: CallOptions): Promise<LxdProfile[]> {
    return this.get('/1.0/profiles', o, this.scoped({ recursion: '1' }));
  }
  getProfile(name: string, o?: CallOptions): Promise<LxdProfile | undefined> {
    return this.getOrUndefined(`/1.0/profiles/${seg(name)}`, o, this.scoped());
  }
  async createProfile(profile: LxdProfileCreate, o?: MutateOptions): Promise<void> {
    await this.mutate('POST', '/1.0/profiles', profile, o, this.scoped());
  }
  /** Replaces the whole profile (fields left out are cleared). */
  async putProfile(name: string, profile: LxdProfilePut, o?: MutateOptions): Promise<void> {
    await this.mutate('PUT', `/1.0/profiles/${seg(name)}`, profile, o, this.scoped());
  }
  /** Merges: config keys and devices given replace those of the same name; others stay. */
  async patchProfile(name: string, patch: LxdProfilePut, o?: MutateOptions): Promise<void> {
    await this.mutate('PATCH', `/1.0/profiles/${seg(name)}`, patch, o, this.scoped());
  }
  async deleteProfile(name: string, o?: MutateOptions): Promise<void> {
    await this.mutate('DELETE', `/1.0/profiles/${seg(name)}`, undefined, o, this.scoped());
  }

  // ---------------------------------------------------------------- networks (project-scoped)

  listNetworks(o?: CallOptions): Promise<LxdNetwork[]> {
    return this.get('/1.0/networks', o, this.scoped({ recursion: '1' }));
  }
  getNetwork(name: string, o?: CallOptions): Promise<LxdNetwork | undefined> {
    return this.getOrUndefined(`/1.0/networks/${seg(name)}`, o, this.scoped());
  }
  async createNetwork(network: LxdNetworkCreate, o?: MutateOptions): Promise<void> {
    await this.mutate('POST', '/1.0/networks', network, o, this.scoped());
  }
  async patchNetwork(name: string, patch: LxdNetworkPatch, o?: MutateOptions): Promise<void> {
    await this.mutate('PATCH', `/1.0/networks/${seg(name)}`, patch, o, this.scoped());
  }
  async deleteNetwork(name: string, o?: MutateOptions): Promise<void> {
    await this.mutate('DELETE', `/1.0/networks/${seg(name)}`, undefined, o, this.scoped());
  }

  // ---------------------------------------------------------------- storage pools (global) and volumes
  // (project-scoped)

  listStoragePools(o?: CallOptions): Promise<LxdStoragePool[]> {
    return this.get('/1.0/storage-pools', o, { recursion: '1' });
  }
  getStoragePool(name: string, o?: CallOptions): Promise<LxdStoragePool | undefined> {
    return this.getOrUndefined(`/1.0/storage-pools/${seg(name)}`, o);
  }
  async createStoragePool(pool: LxdStoragePoolCreate, o?: MutateOptions): Promise<void> {
    await this.mutate('POST', '/1.0/storage-pools', pool, o);
  }
  async patchStoragePool(name: string, patch: LxdStoragePoolPatch, o?: MutateOptions): Promise<void> {
    await this.mutate('PATCH', `/1.0/storage-pools/${seg(name)}`, patch, o);
  }
  async deleteStoragePool(name: string, o?: MutateOptions): Promise<void> {
    await this.mutate('DELETE', `/1.0/storage-pools/${seg(name)}`, undefined, o);
  }

  /** Custom volumes only (instance and image volumes belong to their instance or image). */
  async listStorageVolumes(pool: string, o?: CallOptions): Promise<LxdStorageVolume[]> {
    const all = await this.get<LxdStorageVolume[]>(
      `/1.0/storage-pools/${seg(pool)}/volumes`,
      o,
      this.scoped({ recursion: '1' }),
    );
    return all.filter((v) => v.type === 'custom');
  }
  getStorageVolume(pool: string, name: string, o?: CallOptions): Promise<LxdStorageVolume | undefined> {
    return this.getOrUndefined(`/1.0/storage-pools/${seg(pool)}/volumes/custom/${seg(name)}`, o, this.scoped());
  }
  async createStorageVolume(pool: string, volume: LxdStorageVolumeCreate, o?: MutateOptions): Promise<void> {
    await this.mutate(
      'POST',
      `/1.0/storage-pools/${seg(pool)}/volumes/custom`,
      { content_type: 'filesystem', ...volume },
      o,
      this.scoped(),
    );
  }
  /** e.g. `{ config: { size: '40GiB' } }` grows a volume. */
  async patchStorageVolume(pool: string, name: string, patch: LxdStorageVolumePatch, o?: MutateOptions): Promise<void> {
    await this.mutate('PATCH', `/1.0/storage-pools/${seg(pool)}/volumes/custom/${seg(name)}`, patch, o, this.scoped());
  }
  async deleteStorageVolume(pool: string, name: string, o?: MutateOptions): Promise<void> {
    await this.mutate(
      'DELETE',
      `/1.0/storage-pools/${seg(pool)}/volumes/custom/${seg(name)}`,
      undefined,
      o,
      this.scoped(),
    );
  }

  // ---------------------------------------------------------------- images (project-scoped)

  listImageAliases(o?: CallOptions): Promise<LxdImageAlias[]> {
    return this.get('/1.0/images/aliases', o, this.scoped({ recursion: '1' }));
  }
  getImageAlias(alias: string, o?: CallOptions): Promise<LxdImageAlias | undefined> {
    return this.getOrUndefined(`/1.0/images/aliases/${seg(alias)}`, o, this.scoped());
  }
  listImages(o?: CallOptions): Promise<LxdImage[]> {
    return this.get('/1.0/images', o, this.scoped({ recursion: '1' }));
  }
  getImage(fingerprint: string, o?: CallOptions): Promise<LxdImage | undefined> {
    return this.getOrUndefined(`/1.0/images/${seg(fingerprint)}`, o, this.scoped());
  }
  async getImageByAlias(alias: string, o?: CallOptions): Promise<LxdImage | undefined> {
    const a = await this.getImageAlias(alias, o);
    return a ? this.getImage(a.target, o) : undefined;
  }
  async deleteImage(fingerprint: string, o?: MutateOptions): Promise<void> {
    await this.mutate('DELETE', `/1.0/images/${seg(fingerprint)}`, undefined, o, this.scoped());
  }

  // ---------------------------------------------------------------- instances (project-scoped)

  /** This project's instances, or every project's with `allProjects` (each then carries `project`). */
  listInstances(o: CallOptions & { allProjects?: boolean } = {}): Promise<LxdInstance[]> {
    // LXD refuses `project` together with `all-projects`.
    const query = o.allProjects ? { recursion: '1', 'all-projects': 'true' } : this.scoped({ recursion: '1' });
    return this.get('/1.0/instances', o, query);
  }
  getInstance(name: string, o?: CallOptions): Promise<LxdInstance | undefined> {
    return this.getOrUndefined(`/1.0/instances/${seg(name)}`, o, this.scoped());
  }
  getInstanceState(name: string, o?: CallOptions): Promise<LxdInstanceState | undefined> {
    return this.getOrUndefined(`/1.0/instances/${seg(name)}/state`, o, this.scoped());
  }
  async createInstance(instance: LxdInstanceCreate, o?: MutateOptions): Promise<void> {
    await this.mutate('POST', '/1.0/instances', instance, o, this.scoped());
  }
  async setInstanceState(name: string, state: LxdInstanceStatePut, o?: MutateOptions): Promise<void> {
    await this.mutate('PUT', `/1.0/instances/${seg(name)}/state`, state, o, this.scoped());
  }
  async deleteInstance(name: string, o?: MutateOptions): Promise<void> {
    await this.mutate('DELETE', `/1.0/instances/${seg(name)}`, undefined, o, this.scoped());
  }

  /** Merges instance config keys and devices (keys given replace those of the same name). */
  async patchInstance(
    name: string,
    patch: { config?: Record<string, string>; devices?: Record<string, Record<string, string>>; profiles?: string[] },
    o?: MutateOptions,
  ): Promise<void> {
    await this.mutate('PATCH', `/1.0/instances/${seg(name)}`, patch, o, this.scoped());
  }

  /**
   * Publishes a stopped instance as an image with `alias` (in this client's
   * project), uncompressed: the image stays on the same host, so compressing
   * costs minutes and saves nothing.
   */
  async publishInstance(
    name: string,
    alias: string,
    properties: Record<string, string>,
    o?: MutateOptions,
  ): Promise<LxdOperation | undefined> {
    const body = {
      source: { type: 'instance', name },
      aliases: [{ name: alias }],
      properties,
      compression_algorithm: 'none',
    };
    return this.mutate('POST', '/1.0/images', body, o, this.scoped());
  }

  /**
   * A file's contents inside an instance, or undefined when it does not exist (yet). Containers: any state; VMs: needs
   * the running agent.
   */
  async readInstanceFile(name: string, filePath: string, o?: CallOptions): Promise<Buffer | undefined> {
    const path = `/1.0/instances/${seg(name)}/files`;
    const res = await this.transport.send('GET', path, {
      ...o,
      query: this.scoped({ path: filePath }),
      rawResponse: true,
    });
    if (res.status === 404) return undefined;
    if (res.raw === undefined)
      throw httpFailure({
        endpoint: this.endpoint,
        method: 'GET',
        path,
        status: res.status,
        error: res.body.error ?? '',
      });
    return res.raw;
  }

  /** Writes (replaces) a file or makes a directory inside an instance, with owner and mode. */
  async writeInstanceFile(
    name: string,
    filePath: string,
    f: { content?: Buffer; uid: number; gid: number; mode: number; type?: 'file' | 'directory' },
    o?: CallOptions,
  ): Promise<void> {
    const path = `/1.0/instances/${seg(name)}/files`;
    const headers = {
      'X-LXD-uid': String(f.uid),
      'X-LXD-gid': String(f.gid),
      'X-LXD-mode': f.mode.toString(8).padStart(4, '0'),
      'X-LXD-type': f.type ?? 'file',
      'X-LXD-write': 'overwrite',
    };
    const res = await this.transport.send('POST', path, {
      ...o,
      query: this.scoped({ path: filePath }),
      rawBody: f.content ?? Buffer.alloc(0),
      headers,
    });
    this.envelopeOf(res, 'POST', path);
  }

  /**
   * Runs a command in a running instance without a terminal or websockets:
   * LXD records stdout and stderr to log files, read back (and removed) once
   * the command ended. For commands with small output and no stdin; secrets
   * never go this way (argv is visible in the instance's process list).
   */
  async execInstance(
    name: string,
    command: string[],
    o: MutateOptions & { environment?: Record<string, string> } = {},
  ): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const body = {
      command,
      environment: o.environment ?? {},
      'wait-for-websocket': false,
      interactive: false,
      'record-output': true,
    };
    const op = await this.mutate('POST', `/1.0/instances/${seg(name)}/exec`, body, o, this.scoped());
    const md = (op?.metadata ?? {}) as { return?: number; output?: Record<string, string> };
    const read = async (logPath: string | undefined): Promise<string> => {
      if (!logPath) return '';
      const res = await this.transport.send('GET', logPath, {
        signal: o.signal,
        query: this.scoped(),
        rawResponse: true,
      });
      await this.transport.send('DELETE', logPath, { signal: o.signal, query: this.scoped() }).catch(() => undefined);
      return res.raw?.toString('utf8') ?? '';
    };
    return {
      exitCode: typeof md.return === 'number' ? md.return : -1,
      stdout: await read(md.output?.['1']),
      stderr: await read(md.output?.['2']),
    };
  }

  // ---------------------------------------------------------------- operations

  /**
   * The operations LXD is still running in this client's project (started by anyone, including an attempt that died).
   */
  async listRunningOperations(o?: CallOptions): Promise<LxdOperation[]> {
    const ops = await this.get<{ running?: LxdOperation[] } | null>(
      '/1.0/operations',
      o,
      this.scoped({ recursion: '1' }),
    );
    return ops?.running ?? [];
  }

  /**
   * Waits for a background operation with the server's long-poll
   * (`/wait?timeout=N`, repeated until the deadline: no client-side sleeps).
   * Returns the final operation on success; throws its `err` on failure or
   * cancellation. LXD 5.0 answers a wait that timed out with the still
   * running operation; newer LXD and Incus answer with an error
   * ("context deadline exceeded"): both mean "ask again".
   */
  async waitOperation(op: LxdOperation | string, o: WaitOptions = {}): Promise<LxdOperation> {
    const id = typeof op === 'string' ? op.replace(/^\/1\.0\/operations\//, '') : op.id;
    const description = typeof op === 'string' ? undefined : op.description;
    const budget = o.timeoutMs ?? OPERATION_TIMEOUT_MS;
    const deadline = Date.now() + budget;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw operationTimeoutFailure(this.endpoint, id, description, budget);
      const slice = Math.max(1, Math.min(WAIT_SLICE_S, Math.ceil(left / 1000)));
      const res = await this.transport.send<LxdOperation>('GET', `/1.0/operations/${seg(id)}/wait`, {
        query: { timeout: String(slice) },
        signal: o.signal,
        timeoutMs: slice * 1000 + 30_000,
      });
      if (res.status === 200 && res.body.metadata) {
        const current = res.body.metadata;
        if (current.status_code < 200) continue;
        if (current.status_code === 200) return current;
        throw operationFailure(this.endpoint, current);
      }
      if (/deadline exceeded|timed? ?out/i.test(res.body.error ?? '') || res.status === 504) continue;
      // Incus 6.0 answers the wait on a failed operation with an error envelope (HTTP 200, type "error", metadata
      // null) instead of the failed operation: the operation itself, read once more, says how it ended.
      if (res.body.type === 'error' || !res.body.metadata) {
        const ended = await this.transport.send<LxdOperation>('GET', `/1.0/operations/${seg(id)}`, {
          signal: o.signal,
        });
        const current = ended.status === 200 ? ended.body.metadata : undefined;
        if (current && current.status_code >= 400) throw operationFailure(this.endpoint, current);
        if (current && current.status_code === 200) return current;
        if (current && current.status_code < 200) continue;
        throw operationFailure(this.endpoint, {
          id,
          description,
          status: 'Failure',
          status_code: res.body.error_code ?? res.status,
          err: res.body.error ?? '',
        });
      }
      throw httpFailure({
        endpoint: this.endpoint,
        method: 'GET',
        path: `/1.0/operations/${id}/wait`,
        status: res.status,
        error: res.body.error ?? '',
      });
    }
  }

  // ---------------------------------------------------------------- raw calls

  /** GET a sync resource's metadata; any non-2xx throws. */
  async get<T>(path: string, o?: CallOptions, query?: Record<string, string | undefined>): Promise<T> {
    const res = await this.transport.send<T>('GET', path, { ...o, query });
    return this.metadataOf(res, 'GET', path);
  }

  /** GET a resource's metadata, or undefined when it does not exist (404). */
  async getOrUndefined<T>(
    path: string,
    o?: CallOptions,
    query?: Record<string, string | undefined>,
  ): Promise<T | undefined> {
    const res = await this.transport.send<T>('GET', path, { ...o, query });
    if (res.status === 404) return undefined;
    return this.metadataOf(res, 'GET', path);
  }

  /**
   * Sends a change; when the server answers with a background operation,
   * waits for it and returns it. Sync answers return undefined.
   */
  async mutate(
    method: string,
    path: string,
    body: unknown,
    o: MutateOptions = {},
    query?: Record<string, string | undefined>,
  ): Promise<LxdOperation | undefined> {
    const send: SendOptions = { signal: o.signal, timeoutMs: o.timeoutMs, query, body };
    const res = await this.transport.send<LxdOperation>(method, path, send);
    const envelope = this.envelopeOf(res, method, path);
    if (envelope.type !== 'async') return undefined;
    return this.waitOperation(envelope.metadata ?? envelope.operation ?? '', {
      timeoutMs: o.operationTimeoutMs,
      signal: o.signal,
    });
  }

  private scoped(query: Record<string, string> = {}): Record<string, string | undefined> {
    return { ...query, project: this.project };
  }

  private envelopeOf<T>(res: LxdHttpResponse<T>, method: string, path: string): LxdEnvelope<T> {
    if (res.status >= 200 && res.status < 300 && res.body.type !== 'error') return res.body;
    throw httpFailure({ endpoint: this.endpoint, method, path, status: res.status, error: res.body.error ?? '' });
  }

  private metadataOf<T>(res: LxdHttpResponse<T>, method: string, path: string): T {
    return this.envelopeOf(res, method, path).metadata;
  }
}

/**
 * Whether POST /1.0/certificates takes the token as `trust_token` (LXD ≥ 5.21, Incus) rather than `password` (LXD 5.0).
 */
export function usesTrustTokenField(server: Pick<LxdServer, 'api_extensions'>): boolean {
  const ext = server.api_extensions ?? [];
  return ext.includes('explicit_trust_token') || ext.some((e) => e.includes('incus'));
}
