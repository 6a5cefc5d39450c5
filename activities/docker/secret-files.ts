import type { Client } from 'ssh2';
import { SECRETS_DIR, secretDir } from '../../common/stacks/secrets';
import type { SecretRef, StackSpec } from '../../common/stacks/spec';
import { asRoot } from '../../common/hosts';
import { runChecked } from '../ssh';

/**
 * The secret files of the containers about to be (re)created (see
 * common/stacks/secrets): written on the instance as root, since each is
 * owned by the uid its image reads it as. Values go through stdin, one a
 * line (site.conf secrets hold no control characters), never through argv.
 * A file is replaced (atomically, in the container's mounted directory)
 * only when its value, owner or mode differ; files the spec no longer
 * names go.
 */

// $1 secrets root, $2 the container's directory, $3 uid, then the file names; their values on stdin, in order.
const WRITE = [
  'set -e',
  'root=$1; d=$2; uid=$3; shift 3',
  // Its parents as any directory on ss-data (the ssh user keeps others in .ssw); itself root's alone.
  'mkdir -p "$root"; chown 0:0 "$root"; chmod 700 "$root"',
  'umask 077',
  'mkdir -p "$d"; rm -f "$d"/.new.*',
  'for f; do',
  '  IFS= read -r v',
  '  t=$(mktemp "$d/.new.XXXXXX"); printf %s "$v" > "$t"',
  '  if [ -f "$d/$f" ] && cmp -s "$t" "$d/$f" && [ "$(stat -c %u:%a "$d/$f")" = "$uid:400" ]; then rm -f "$t"',
  '  else chown "$uid:0" "$t"; chmod 400 "$t"; mv -f "$t" "$d/$f"; fi',
  'done',
  'for x in "$d"/*; do [ -e "$x" ] || continue; case " $* " in *" ${x##*/} "*) ;; *) rm -f "$x" ;; esac; done',
  'chown "$uid:0" "$d"; chmod 500 "$d"',
].join('\n');

export async function writeSecretFiles(
  client: Client,
  user: string,
  stacks: StackSpec[],
  resolve: (ref: SecretRef) => string,
): Promise<void> {
  for (const c of stacks.flatMap((s) => s.containers)) {
    if (!c.secretFiles) continue;
    const { uid, files } = c.secretFiles;
    const stdin = files.map((f) => `${typeof f.value === 'string' ? f.value : resolve(f.value)}\n`).join('');
    await runChecked(
      client,
      asRoot(user, ['sh', '-c', WRITE, 'sh', SECRETS_DIR, secretDir(c.name), String(uid), ...files.map((f) => f.name)]),
      { stdin, timeoutMs: 60_000 },
    );
  }
}

/**
 * Removes the secrets of every container that no longer exists (its stack
 * removed, or dropped from its stack): `existing` is every container name
 * on the engine. A sweep rather than a list of what was just removed, so a
 * retry after a crash between removing containers and their files still
 * finds them.
 */
export async function pruneSecretFiles(client: Client, user: string, existing: string[]): Promise<void> {
  // A replacement running as NAME-next-HASH reads NAME's directory.
  const keep = [...new Set(existing.map((n) => n.replace(/-next-[0-9a-f]{8}$/, '')))];
  const script =
    'root=$1; shift; [ -d "$root" ] || exit 0; for x in "$root"/*; do [ -e "$x" ] || continue; k=0; for n; do [ "${x##*/}" = "$n" ] && k=1; done; [ $k = 1 ] || rm -rf "$x"; done';
  await runChecked(client, asRoot(user, ['sh', '-c', script, 'sh', SECRETS_DIR, ...keep]), { timeoutMs: 60_000 });
}
