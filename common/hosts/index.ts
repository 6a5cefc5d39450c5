/**
 * The hosts ssw works on, as data: how to reach one over SSH, the www host of
 * a deployment, where ss keeps its data and backups there, and how a command
 * runs as root. Pure (no I/O): imported by the CLI, activities and workflows.
 * The instance record file that says how to reach a deployment's instance is
 * in ./instance-record (it reads and writes files, so workflows never import it).
 */
import type { SshTarget } from '../ssh-target';

export type { SshTarget } from '../ssh-target';

/** Sovereign Stack's REMOTE_DATA_PATH: the ss-data volume of the www instance. */
export const DEFAULT_DATA_PATH = '/home/ubuntu/ss-data';

/** ss's REMOTE_BACKUP_PATH: the www host's backup volume (duplicity archives). */
export const DEFAULT_BACKUP_PATH = '/home/ubuntu/backups';

/** How to reach the host that serves a deployment's sites, and where its data lives. */
export interface WwwHost {
  ssh: SshTarget;
  /** ss's REMOTE_DATA_PATH; certificates live under `<dataPath>/letsencrypt/<domain>`. */
  dataPath: string;
  /** ss's REMOTE_BACKUP_PATH: duplicity archives. @default DEFAULT_BACKUP_PATH */
  backupPath?: string;
}

/** A command run as root by the SSH user: as is for root, else through `sudo -n` (never prompts). */
export function asRoot(user: string, argv: string[]): string[] {
  return user === 'root' ? argv : ['sudo', '-n', ...argv];
}
