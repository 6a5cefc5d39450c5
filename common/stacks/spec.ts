import { createHash } from 'node:crypto';

/**
 * A "stack" as ssw runs it on a single-host instance: a named group of plain
 * containers and user-defined bridge networks that ssw owns (no swarm: its
 * overlay networks carry no traffic in nested containers, and one host
 * needs none of it). Specs are data rendered from the validated config;
 * secrets appear only as references to site.conf keys, resolved by the
 * activity that starts the container, so a spec may travel in workflow
 * history. Labels carry the stack name and a hash of the spec: a container
 * whose hash matches is left alone.
 */

export const LABEL_STACK = 'ssw.stack';
export const LABEL_HASH = 'ssw.config-hash';
export const LABEL_ROLE = 'ssw.role';

/**
 * A site.conf key whose value the container gets (never rendered into the spec): from a file (see secretFiles), or, for
 * images that read no file, as an environment variable.
 */
export interface SecretRef {
  secret: string;
  /** The domain whose site.conf holds it. */
  domain: string;
  /**
   * For an environment variable that carries the secret inside other text (a database connection string): the
   * text, with `{}` where the value goes. Files always hold the bare value.
   */
  format?: string;
}

/** A value a container reads from the file its image's `*_FILE` variable names (see ./secrets). */
export interface SecretFile {
  /** The variable naming the file, e.g. MYSQL_PASSWORD_FILE. */
  env: string;
  /** The file's name in the container's secrets directory. */
  name: string;
  value: SecretRef | string;
}

export interface VolumeMount {
  /** Absolute path on the instance (under ss's data path). */
  host: string;
  container: string;
  readOnly?: boolean;
}

export interface HealthCheck {
  /** Docker's form: ['CMD', ...] or ['CMD-SHELL', '...']. */
  test: string[];
  intervalS: number;
  timeoutS: number;
  retries: number;
  startPeriodS: number;
}

export interface ContainerSpec {
  name: string;
  image: string;
  env: Record<string, string | SecretRef>;
  volumes: VolumeMount[];
  /** Networks it joins, with the DNS aliases others reach it by. */
  networks: { name: string; aliases: string[] }[];
  ports?: { hostIp: string; host: number; container: number }[];
  command?: string[];
  healthcheck?: HealthCheck;
  /**
   * Secrets written on the instance before the container starts, 0400 and owned by `uid`, in its secrets directory
   * (./secrets).
   */
  secretFiles?: { uid: number; files: SecretFile[] };
  /** Files written on the instance before the container starts (e.g. nginx.conf, the relay's config.toml). */
  files?: { path: string; content: string }[];
  labels?: Record<string, string>;
  /** Whether a replacement may start next to the old container (stateless apps); databases never. */
  startBeforeStop: boolean;
  /**
   * How the running container takes changed files without a restart: the
   * command that checks them first (run in the container), then the signal.
   * Without it, a file change restarts the container.
   */
  reload?: { test: string[]; signal: string };
}

export interface StackSpec {
  name: string;
  /** The site and app it serves; absent for the reverse proxy. */
  domain?: string;
  app?: 'ghost' | 'nextcloud' | 'gitea' | 'nostr' | 'reverse-proxy' | 'btcpay';
  networks: string[];
  /** Started in order (a database before its app). */
  containers: ContainerSpec[];
  /** Directories under the data path the stack needs (created, owned by the instance user). */
  directories: string[];
}

/** ss's DOMAIN_IDENTIFIER: the last 6 hex digits of sha256(domain). */
export function domainIdentifier(domain: string): string {
  return createHash('sha256').update(domain).digest('hex').slice(-6);
}

/** JSON with sorted keys: the same spec always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as object)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The hash a running container carries in LABEL_HASH: of its spec (secret
 * references, not values), with its files by path only and without its
 * networks. Both change on a running container without replacing it: files
 * are reloaded (see filesHash), networks joined and left (the proxy, when a
 * site or language comes or goes).
 */
export function containerHash(c: ContainerSpec): string {
  return createHash('sha256')
    .update(canonicalJson({ ...c, labels: undefined, networks: undefined, files: c.files?.map((f) => f.path) }))
    .digest('hex')
    .slice(0, 16);
}

/**
 * The hash of a container's files' content: recorded on the instance once the
 * container has (re)loaded them, so a changed file is reloaded exactly once,
 * also when a crash fell between writing the file and the reload.
 */
export function filesHash(c: ContainerSpec): string | undefined {
  if (!c.files?.length) return undefined;
  return createHash('sha256').update(canonicalJson(c.files)).digest('hex').slice(0, 16);
}
