import { DEFAULT_DATA_PATH } from '../hosts';
import type { ContainerSpec, SecretFile, SecretRef } from './spec';

/**
 * Secrets a container reads from files (the official images' `*_FILE`
 * variables) instead of its environment, where `docker inspect` shows them
 * to anyone in the instance's docker group and every process in the
 * container inherits them. Each container has its own directory on the
 * instance's ss-data, mounted read-only at SECRETS_MOUNT; the files are
 * written by the activity (values from site.conf over SSH stdin) as 0400,
 * owned by the user the image reads them as. The specs carry only the
 * references. Pure.
 */

/** Root-only (0700) on the instance: no instance user can read another container's secrets through it. */
export const SECRETS_DIR = `${DEFAULT_DATA_PATH}/.ssw/secrets`;
/** Where a container sees its own secrets (Docker's own convention for secrets). */
export const SECRETS_MOUNT = '/run/secrets';

/**
 * The uid each image reads its `*_FILE` secrets as. The mysql and mariadb
 * entrypoints read them as root before dropping to mysql (999), but 999
 * keeps them readable if the server reads them itself or runs as that user;
 * Nextcloud's autoconfig.php reads them from PHP as www-data (33) during the
 * web install; Gitea's environment-to-ini reads them as root before
 * starting as its git user (USER_UID, 1000); the postgres entrypoint re-executes
 * itself as postgres (999) before it reads POSTGRES_PASSWORD_FILE.
 */
export const SECRET_FILE_OWNER = { mysql: 999, mariadb: 999, nextcloud: 33, gitea: 1000, postgres: 999 } as const;

export function secretDir(container: string): string {
  return `${SECRETS_DIR}/${container}`;
}

/**
 * A container spec with `files` (the image's `*_FILE` variable → secret or
 * plain value) added: the variables, the read-only mount and the files to
 * write, each named as its variable without the suffix. Plain values go the same way where an image needs a
 * whole group as files (Nextcloud's autoconfig takes the database name,
 * user and password all from files or all from the environment).
 */
export function withSecretFiles(
  c: ContainerSpec,
  uid: number,
  files: Record<string, SecretRef | string>,
): ContainerSpec {
  const list: SecretFile[] = Object.entries(files).map(([env, value]) => ({
    env,
    name: env.replace(/_+FILE$/, ''),
    value,
  }));
  return {
    ...c,
    env: { ...c.env, ...Object.fromEntries(list.map((f) => [f.env, `${SECRETS_MOUNT}/${f.name}`])) },
    volumes: [...c.volumes, { host: secretDir(c.name), container: SECRETS_MOUNT, readOnly: true }],
    secretFiles: { uid, files: list },
  };
}
