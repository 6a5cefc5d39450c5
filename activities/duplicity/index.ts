import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { DRILL_RECORD, type BackupPlan, type BackupUnit } from '../../common/backup/plan';
import { loadSiteConfig } from '../../common/config';
import { FailureType } from '../../common/failure-types';
import type { SsPaths } from '../../common/paths';
import type { WwwHost } from '../../common/hosts';
import { asRoot } from '../../common/hosts';
import { configured } from '../config';
import type { SshTarget } from '../ssh/connect';
import { downloadFile, uploadFile } from '../ssh/sftp';
import type { SshConnector } from '../ssh/connector';
import type { SshStep } from '../ssh/step';

/**
 * duplicity on the www host, and its archives on the management machine.
 *
 * The site's DUPLICITY_BACKUP_PASSPHRASE is read here, on the management
 * machine, and written to the host command's stdin; a fixed script reads it
 * into duplicity's environment (PASSPHRASE). It never appears in argv (which
 * every user of the host can see in `ps`), in a workflow input or result, or
 * in a log line.
 */

/** Reads the passphrase from stdin into duplicity's environment, then runs duplicity with the given argv. */
const WITH_PASSPHRASE = 'IFS= read -r PASSPHRASE || [ -n "$PASSPHRASE" ]; export PASSPHRASE; exec duplicity "$@"';

/**
 * Backs up $1 into file://$2 with the given duplicity options, after proving
 * the passphrase opens the chain's newest manifest: duplicity itself would
 * happily append increments encrypted with a different passphrase, leaving a
 * chain that no single passphrase restores. Exit 40: app data path absent
 * (for an optional unit, such as certificates not issued yet, prints
 * "ssw: absent" and succeeds); 41: wrong passphrase.
 */
const BACKUP_SCRIPT = `IFS= read -r PASSPHRASE || [ -n "$PASSPHRASE" ]; export PASSPHRASE
src=$1; dst=$2; optional=$3; shift 3
if [ ! -d "$src" ]; then
  [ "$optional" = optional ] && { echo "ssw: absent"; exit 0; }
  echo "no directory $src" >&2; exit 40
fi
mkdir -p "$dst"
latest=$(ls -1 "$dst"/duplicity-*.manifest.gpg 2>/dev/null | sort | tail -n 1)
if [ -n "$latest" ]; then
  printf '%s' "$PASSPHRASE" | gpg --batch --quiet --pinentry-mode loopback --passphrase-fd 0 -d "$latest" >/dev/null 2>&1 || { echo "the passphrase does not open $latest" >&2; exit 41; }
fi
exec duplicity "$@" "$src" "file://$dst"`;

/**
 * Restores file://$1 (at time $3, or the latest) into a fresh directory beside
 * $2, then swaps it in: the live directory is renamed aside (kept), never
 * deleted, and only after the restored copy is complete. Ownership of the
 * restored files is duplicity's (it restores owners as root); the top
 * directory takes the live one's owner. Exit 42: no backup in the archive.
 */
const RESTORE_SCRIPT = `IFS= read -r PASSPHRASE || [ -n "$PASSPHRASE" ]; export PASSPHRASE
archive=$1; live=$2; when=$3; stamp=$4; cache=$5
ls "$archive"/duplicity-*.manifest.gpg >/dev/null 2>&1 || { echo "no backup in $archive" >&2; exit 42; }
staging="$live.ssw-restore"
rm -rf "$staging"
mkdir -p "$(dirname "$live")"
if [ -n "$when" ]; then set -- --time "$when"; else set --; fi
duplicity restore --archive-dir "$cache" "$@" "file://$archive" "$staging" || exit $?
if [ -e "$live" ]; then
  chown --reference="$live" "$staging" 2>/dev/null || true
  mv "$live" "$live.ssw-replaced-$stamp"
fi
mv "$staging" "$live"`;

/**
 * The restore drill: the latest backup restored into a scratch directory on
 * the backup volume (never over live data), `duplicity verify --compare-data`
 * of the archive against it (every volume decrypted, every file's content
 * compared), and the entries restored against the backup's own listing.
 * Prints "files=N entries=N listed=N time=<backup time>"; the scratch
 * directory is removed whatever happens.
 */
const DRILL_SCRIPT = `IFS= read -r PASSPHRASE || [ -n "$PASSPHRASE" ]; export PASSPHRASE
archive=$1; scratch=$2; cache=$3
ls "$archive"/duplicity-*.manifest.gpg >/dev/null 2>&1 || { echo "no backup in $archive" >&2; exit 42; }
rm -rf "$scratch"; mkdir -p "$(dirname "$scratch")"
trap 'rm -rf "$scratch"' EXIT
duplicity restore --archive-dir "$cache" "file://$archive" "$scratch" >&2 || exit $?
duplicity verify --compare-data --archive-dir "$cache" "file://$archive" "$scratch" >&2 || exit $?
files=$(find "$scratch" -type f | wc -l)
entries=$(find "$scratch" | wc -l)
listed=$(duplicity list-current-files --archive-dir "$cache" "file://$archive" 2>/dev/null | grep -cE '^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} [0-9]{4} ')
when=$(duplicity collection-status --archive-dir "$cache" "file://$archive" 2>/dev/null | sed -n 's/^Chain end time: *//p' | tail -n 1)
echo "files=$files entries=$entries listed=$listed time=$when"`;

export interface DrillResult {
  domain: string;
  app: string;
  ok: boolean;
  /** When the verified backup was taken (duplicity's chain end time, ISO); null when the drill failed. */
  backupTime: string | null;
  restoredFiles: number;
  /** Entries (files, directories, links) restored, and in the backup's own listing: equal when the drill passes. */
  restoredEntries: number;
  listedEntries: number;
  verifiedAt: string;
  error?: string;
  /** An optional unit (certificates) with no backup at all yet. */
  nothingYet?: boolean;
}

/**
 * Makes the archive directory $1 (root's, as duplicity leaves it) and the
 * staging directory $2 beside it, which belongs to the SSH user $3 (mode
 * 0700: archives are secret even encrypted) so SFTP can write there.
 */
const STAGING_SCRIPT = 'mkdir -p "$1" "$2" && chown "$3" "$2" && chmod 700 "$2"';

/**
 * Moves the uploaded file $1 into the archive as $2, owned like the archive directory (root's), as duplicity's own
 * files are.
 */
const PUBLISH_SCRIPT = 'chown --reference="$(dirname "$2")" "$1" && mv -f "$1" "$2"';

/**
 * duplicity (and gpg, which it needs) from the OS's packages when missing: ss's base image has it, a plain host may
 * not.
 */
const DUPLICITY_INSTALL_SCRIPT = [
  'set -e',
  'if command -v duplicity >/dev/null 2>&1 && command -v gpg >/dev/null 2>&1; then duplicity --version 2>&1; exit 0; fi',
  'export DEBIAN_FRONTEND=noninteractive',
  'apt-get update -q >&2',
  'apt-get install -y -q --no-install-recommends duplicity gnupg >&2',
  'duplicity --version 2>&1',
].join('\n');

export interface ArchiveFile {
  name: string;
  size: number;
}

export interface BackupResult {
  domain: string;
  app: string;
  /**
   * "full" or "incremental", as duplicity decided from --full-if-older-than; "none" when there is nothing yet (no
   * certificate issued).
   */
  kind: 'full' | 'incremental' | 'none';
  /** Archive files on the host after the backup (and retention). */
  files: ArchiveFile[];
}

export interface TransferSummary {
  files: number;
  bytesTransferred: number;
  /** Bytes a retried attempt did not send again, because an earlier attempt's partial file held them. */
  bytesResumed: number;
  skipped: number;
}

/** duplicity's failures, read from its output: what an operator can act on. */
export function classifyDuplicityFailure(
  unit: Pick<BackupUnit, 'domain' | 'app' | 'source' | 'archive'>,
  exitCode: number | null,
  output: string,
): ApplicationFailure {
  const what = `${unit.app} of ${unit.domain}`;
  if (exitCode === 40)
    return ApplicationFailure.nonRetryable(
      `The data of ${what} is not on the host: ${unit.source} does not exist. Is the app deployed?`,
      FailureType.Validation,
    );
  if (exitCode === 41 || /decryption failed|Bad session key|bad passphrase/i.test(output)) {
    return ApplicationFailure.nonRetryable(
      `DUPLICITY_BACKUP_PASSPHRASE in sites/${unit.domain}/site.conf does not open the existing backups of ${what} (${unit.archive}). Nothing was changed. Put back the passphrase they were made with.`,
      FailureType.Secret,
    );
  }
  if (exitCode === 42 || /No backup chains found|No signature chains found/i.test(output)) {
    return ApplicationFailure.nonRetryable(
      `There is no backup of ${what} in ${unit.archive} on the host, nor on this machine.`,
      FailureType.BackupMissing,
    );
  }
  const corrupt =
    /hash mismatch for file:\s*\n?\s*(\S+)/i.exec(output) ??
    (/Invalid data|gpg: (?:decryption failed: )?(?:invalid packet|CRC error)|unexpected EOF/i.test(output)
      ? ['']
      : null);
  if (corrupt) {
    return ApplicationFailure.nonRetryable(
      `The backup archive of ${what} is damaged${corrupt[1] ? `: ${corrupt[1]} does not match its manifest` : ''} (${unit.archive}). Copy it back from this machine (ssw restore pushes the copy when the host lacks it), or make a new full backup.`,
      FailureType.BackupCorrupt,
    );
  }
  if (/No space left on device|Disk quota exceeded/i.test(output)) {
    return ApplicationFailure.nonRetryable(
      `The host ran out of disk space while handling ${what} (${unit.archive}). Free space on the backup volume or lower BACKUP_KEEP_DAYS, then run again.`,
      FailureType.DiskFull,
    );
  }
  const tail = output.trim().split('\n').slice(-8).join('\n');
  return ApplicationFailure.create({
    message: `duplicity failed for ${what} (exit ${exitCode}):\n${tail}`,
    type: FailureType.CommandFailed,
    nonRetryable: false,
  });
}

/** Certificates exist only once issued: their absence is not a failure. */
const optionalUnit = (unit: BackupUnit) => unit.app === 'letsencrypt';

export function createDuplicityActivities({ paths, ssh: connector }: { paths: SsPaths; ssh: SshConnector }) {
  /** The site's passphrase, read now; a config problem is final and names the file. */
  function passphraseOf(domain: string): string {
    return configured(() => loadSiteConfig(paths, domain).secrets.duplicityBackupPassphrase);
  }

  const cacheDir = (backupPath: string) => `${backupPath}/.duplicity-cache`;

  async function listRemote(s: SshStep, user: string, dir: string): Promise<ArchiveFile[]> {
    const script =
      'cd "$1" 2>/dev/null || exit 0; for f in duplicity-*; do [ -f "$f" ] && printf "%s %s\\n" "$(stat -c %s "$f")" "$f"; done; true';
    const out = await s.runChecked(asRoot(user, ['sh', '-c', script, 'sh', dir]), { timeoutMs: 60_000 });
    return out.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => ({ size: Number(l.slice(0, l.indexOf(' '))), name: l.slice(l.indexOf(' ') + 1) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** duplicity is on the host, installed from its OS packages when missing (root or passwordless sudo). */
  async function ensureDuplicity(ssh: SshTarget): Promise<{ version: string }> {
    return connector.step(`installing duplicity on ${ssh.host}`, ssh, { step: 'duplicity' }, async (s) => {
      // apt exits 100 while another apt holds its lock: worth retrying.
      const r = await s.runChecked(asRoot(ssh.user, ['sh', '-c', DUPLICITY_INSTALL_SCRIPT]), {
        timeoutMs: 15 * 60_000,
        retryableExitCodes: [100],
      });
      return { version: r.stdout.trim().split('\n').pop() ?? '' };
    });
  }

  /**
   * One duplicity backup of one app of one site: full when the last full is older than the unit says, else incremental;
   * then retention.
   */
  async function backupApp(plan: Pick<BackupPlan, 'host' | 'backupPath'>, unit: BackupUnit): Promise<BackupResult> {
    const passphrase = passphraseOf(unit.domain);
    const { host } = plan;
    return connector.step(`duplicity backup of ${unit.name}`, host.ssh, { unit: unit.name }, async (s) => {
      const before = await listRemote(s, host.ssh.user, unit.archive);
      const opts = [
        '--full-if-older-than',
        `${unit.fullEveryDays}D`,
        '--archive-dir',
        cacheDir(plan.backupPath),
        '--name',
        unit.name,
        '--no-print-statistics',
        '--allow-source-mismatch',
      ];
      const optional = optionalUnit(unit) ? 'optional' : 'required';
      const r = await s.run(
        asRoot(host.ssh.user, ['sh', '-c', BACKUP_SCRIPT, 'sh', unit.source, unit.archive, optional, ...opts]),
        { stdin: `${passphrase}\n`, timeoutMs: 6 * 3600_000 },
      );
      if (r.exitCode !== 0) throw classifyDuplicityFailure(unit, r.exitCode, `${r.stdout}\n${r.stderr}`);
      if (r.stdout.includes('ssw: absent')) return { domain: unit.domain, app: unit.app, kind: 'none', files: before };
      if (unit.keepDays > 0) {
        const rm = [
          'remove-older-than',
          `${unit.keepDays}D`,
          '--force',
          '--archive-dir',
          cacheDir(plan.backupPath),
          '--name',
          unit.name,
          `file://${unit.archive}`,
        ];
        const rr = await s.run(asRoot(host.ssh.user, ['sh', '-c', WITH_PASSPHRASE, 'sh', ...rm]), {
          stdin: `${passphrase}\n`,
          timeoutMs: 3600_000,
        });
        if (rr.exitCode !== 0) throw classifyDuplicityFailure(unit, rr.exitCode, `${rr.stdout}\n${rr.stderr}`);
      }
      const files = await listRemote(s, host.ssh.user, unit.archive);
      const added = files.filter((f) => !before.some((b) => b.name === f.name));
      const kind = added.some((f) => f.name.startsWith('duplicity-full.')) ? 'full' : 'incremental';
      return { domain: unit.domain, app: unit.app, kind, files };
    });
  }

  /** Where a unit's archive lives on the management machine. */
  const localDir = (unit: BackupUnit) => path.join(paths.siteDir(unit.domain), 'backups', 'www', unit.app);

  /**
   * Copies a set of files one by one with resume (the partial file is the
   * checkpoint) and skips those already identical; heartbeats the file and the
   * bytes done so far as they move, so a transfer that stops moving fails its
   * attempt (see `sshStep`) and the retry continues where this left off.
   */
  async function transferAll(
    s: SshStep,
    what: string,
    files: ArchiveFile[],
    copy: (
      file: ArchiveFile,
      onProgress: (done: number) => void,
    ) => Promise<{ skipped: boolean; bytesTransferred: number; resumedFrom: number }>,
  ): Promise<TransferSummary> {
    const ctx = Context.current();
    const previous = ctx.info.heartbeatDetails as { file?: string; bytesDone?: number } | undefined;
    if (ctx.info.attempt > 1)
      ctx.log.info(
        `${what}: attempt ${ctx.info.attempt}, resuming (previous attempt was at ${previous?.file ?? 'the start'}, ${previous?.bytesDone ?? 0} bytes)`,
      );
    const summary: TransferSummary = { files: files.length, bytesTransferred: 0, bytesResumed: 0, skipped: 0 };
    for (const file of files) {
      s.progress({ file: file.name, bytesDone: 0 });
      const r = await copy(file, (done) => s.progress({ file: file.name, bytesDone: done }));
      summary.bytesTransferred += r.bytesTransferred;
      summary.bytesResumed += r.resumedFrom;
      if (r.skipped) summary.skipped++;
    }
    ctx.log.info(
      `${what}: ${summary.files} files, ${summary.bytesTransferred} bytes transferred, ${summary.bytesResumed} resumed from partial files, ${summary.skipped} already identical`,
    );
    return summary;
  }

  /** Pulls a unit's archive files from the host to $SS_ROOT/sites/<domain>/backups/www/<app>. */
  async function pullArchive(host: WwwHost, unit: BackupUnit): Promise<TransferSummary> {
    const dir = localDir(unit);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const what = `pull ${unit.name}`;
    return connector.step(what, host.ssh, { file: null, bytesDone: 0 }, async (s) => {
      const files = await listRemote(s, host.ssh.user, unit.archive);
      return transferAll(s, what, files, (f, onProgress) =>
        downloadFile(s.client, `${unit.archive}/${f.name}`, path.join(dir, f.name), {
          onProgress,
          signal: s.signal,
          whileQuiet: s.whileQuiet,
        }),
      );
    });
  }

  /**
   * Uploads the local copy's files that `ssh`:`dir` lacks (or holds partially), resumed and checked.
   *
   * The archive directories on the host belong to root (duplicity runs there
   * with sudo), and SFTP runs as the SSH user (`ubuntu` on an instance): so
   * files go to a staging directory beside the archive that the SSH user
   * owns (where a partial upload also waits for the next attempt), and each
   * complete, verified file is then moved into the archive as root.
   */
  async function pushFiles(ssh: SshTarget, unit: BackupUnit, dir: string, what: string): Promise<TransferSummary> {
    const local = localDir(unit);
    const files: ArchiveFile[] = fs.existsSync(local)
      ? fs
          .readdirSync(local)
          .filter((n) => n.startsWith('duplicity-') && !n.includes('.partial'))
          .map((name) => ({ name, size: fs.statSync(path.join(local, name)).size }))
      : [];
    const staging = `${dir}.ssw-upload`;
    return connector.step(what, ssh, { file: null, bytesDone: 0 }, async (s) => {
      await s.runChecked(asRoot(ssh.user, ['sh', '-c', STAGING_SCRIPT, 'sh', dir, staging, ssh.user]), {
        timeoutMs: 30_000,
      });
      const remote = await listRemote(s, ssh.user, dir);
      const missing = files.filter((f) => !remote.some((r) => r.name === f.name && r.size === f.size));
      const summary = await transferAll(s, what, missing, async (f, onProgress) => {
        const r = await uploadFile(s.client, path.join(local, f.name), `${staging}/${f.name}`, {
          onProgress,
          signal: s.signal,
          whileQuiet: s.whileQuiet,
        });
        await s.runChecked(
          asRoot(ssh.user, ['sh', '-c', PUBLISH_SCRIPT, 'sh', `${staging}/${f.name}`, `${dir}/${f.name}`]),
          { timeoutMs: 60_000 },
        );
        return r;
      });
      await s.runChecked(asRoot(ssh.user, ['rm', '-rf', '--', staging]), { timeoutMs: 60_000 });
      return summary;
    });
  }

  /** Pushes the archive files the host lacks (or holds partially) from this machine, before a restore. */
  async function pushArchive(host: WwwHost, unit: BackupUnit): Promise<TransferSummary> {
    return pushFiles(host.ssh, unit, unit.archive, `push ${unit.name}`);
  }

  /** The second copy: this machine's copy of the archive to the off-site remote (BACKUP_OFFSITE_REMOTE). */
  async function copyArchiveOffsite(unit: BackupUnit): Promise<TransferSummary> {
    if (!unit.offsite)
      throw ApplicationFailure.nonRetryable(`${unit.name} has no off-site remote configured`, FailureType.Validation);
    return pushFiles(
      unit.offsite.ssh,
      unit,
      unit.offsite.dir,
      `off-site copy of ${unit.name} to ${unit.offsite.remote}`,
    );
  }

  /** Restores one app (latest, or as of `time`) by swapping a complete restored copy in for the live data. */
  async function restoreApp(
    plan: Pick<BackupPlan, 'host' | 'backupPath'>,
    unit: BackupUnit,
    time?: string,
  ): Promise<{ restored: string | null; replacedKeptAt: string | null }> {
    const passphrase = passphraseOf(unit.domain);
    const { host } = plan;
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    return connector.step(`duplicity restore of ${unit.name}`, host.ssh, { unit: unit.name }, async (s) => {
      const existed = (await s.run(['test', '-e', unit.source], { timeoutMs: 30_000 })).exitCode === 0;
      const argv = asRoot(host.ssh.user, [
        'sh',
        '-c',
        RESTORE_SCRIPT,
        'sh',
        unit.archive,
        unit.source,
        time ?? '',
        stamp,
        cacheDir(plan.backupPath),
      ]);
      const r = await s.run(argv, { stdin: `${passphrase}\n`, timeoutMs: 6 * 3600_000 });
      // Certificates may never have been issued (so never backed up): nothing to restore is not an error for them.
      if (r.exitCode === 42 && optionalUnit(unit)) return { restored: null, replacedKeptAt: null };
      if (r.exitCode !== 0) throw classifyDuplicityFailure(unit, r.exitCode, `${r.stdout}\n${r.stderr}`);
      return { restored: unit.source, replacedKeptAt: existed ? `${unit.source}.ssw-replaced-${stamp}` : null };
    });
  }

  /**
   * Proves one app's backup restores (see DRILL_SCRIPT) and records the result
   * beside its copy here. A backup that does not restore is a result, not an
   * error: the drill goes on with the other apps. Only a broken connection is
   * retried.
   */
  async function drillApp(plan: Pick<BackupPlan, 'host' | 'backupPath'>, unit: BackupUnit): Promise<DrillResult> {
    const passphrase = passphraseOf(unit.domain);
    const { host } = plan;
    const scratch = `${plan.backupPath}/.ssw-drill/${unit.name}`;
    const result: DrillResult = await connector.step(
      `restore drill of ${unit.name}`,
      host.ssh,
      { unit: unit.name },
      async (s): Promise<DrillResult> => {
        const argv = asRoot(host.ssh.user, [
          'sh',
          '-c',
          DRILL_SCRIPT,
          'sh',
          unit.archive,
          scratch,
          cacheDir(plan.backupPath),
        ]);
        const r = await s.run(argv, { stdin: `${passphrase}\n`, timeoutMs: 6 * 3600_000 });
        const verifiedAt = new Date().toISOString();
        const base = { domain: unit.domain, app: unit.app, verifiedAt };
        if (r.exitCode === 42 && optionalUnit(unit))
          return {
            ...base,
            ok: true,
            backupTime: null,
            restoredFiles: 0,
            restoredEntries: 0,
            listedEntries: 0,
            nothingYet: true,
          };
        if (r.exitCode !== 0) {
          const why = classifyDuplicityFailure(unit, r.exitCode, `${r.stdout}\n${r.stderr}`).message;
          return {
            ...base,
            ok: false,
            backupTime: null,
            restoredFiles: 0,
            restoredEntries: 0,
            listedEntries: 0,
            error: why,
          };
        }
        const m = /files=(\d+) entries=(\d+) listed=(\d+) time=(.*)$/m.exec(r.stdout);
        const when = m?.[4] ? new Date(m[4]) : null;
        const restoredEntries = Number(m?.[2] ?? 0);
        const listedEntries = Number(m?.[3] ?? 0);
        const error = !m
          ? 'the drill printed no summary'
          : restoredEntries !== listedEntries
            ? `restored ${restoredEntries} entries, the backup lists ${listedEntries}`
            : undefined;
        return {
          ...base,
          ok: error === undefined,
          backupTime: when && !Number.isNaN(when.getTime()) ? when.toISOString() : null,
          restoredFiles: Number(m?.[1] ?? 0),
          restoredEntries,
          listedEntries,
          ...(error ? { error } : {}),
        };
      },
    );
    if (result.nothingYet) return result; // no certificate was ever backed up: nothing to record
    const dir = localDir(unit);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(dir, DRILL_RECORD), JSON.stringify(result, null, 2) + '\n', { mode: 0o600 });
    return result;
  }

  return { ensureDuplicity, backupApp, pullArchive, pushArchive, copyArchiveOffsite, restoreApp, drillApp };
}
