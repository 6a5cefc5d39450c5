import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { loadOrCreateKeyring } from '../../common/codec/keyring';
import { seal, sealedHeader, unseal } from '../../common/codec/sealed-file';
import { FailureType } from '../../common/failure-types';
import type { SsPaths } from '../../common/paths';
import { replacePrivateFile } from '../../common/private-file';
import type { WwwHost } from '../../common/hosts';
import { letsencryptPaths } from '../../common/tls/plan';
import { asRoot } from '../../common/hosts';
import type { CertificateInfo } from '../certbot/certificate';
import type { SshConnector } from '../ssh/connector';
import { runChecked } from '../ssh/run';

/**
 * Certificate backups on the management machine, as ss's --restore-certs
 * expects them to exist: after each issuance the site's whole certbot
 * directory (lineage, renewal config, ACME account) is copied here, sealed
 * with a key derived from this machine's payload key, under
 * $SS_ROOT/sites/<domain>/certs/. The private keys pass through this
 * activity's memory only: never a workflow input, result or log line.
 */

const PURPOSE = 'cert-backup';
const SUFFIX = '.tar.gz.sealed';
/** Backups kept per site; older ones are removed after a new one is written. */
export const CERT_BACKUPS_KEPT = 10;

export interface CertBackup {
  file: string;
  domain: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  bytes: number;
}

// Everything certbot needs to go on renewing, without its logs and scratch space.
const ARCHIVE_SCRIPT =
  'set -e; cd "$1"; [ -e "$2/live/$2/cert.pem" ] || { echo "no certificate in $1/$2" >&2; exit 5; }; tar --exclude="$2/_logs" --exclude="$2/_work" -czf - "$2" | base64 -w0';

/**
 * Unpacks into a fresh directory beside the live one, then swaps it in with
 * two renames; the previous directory is kept as .replaced-<domain>-<stamp>,
 * so nothing live is deleted and a crash midway leaves either the old or the
 * new directory in place. Exit 5: the backup holds no certificate for the domain.
 */
const RESTORE_SCRIPT = `set -e
root=$1; d=$2; stamp=$3
umask 077
mkdir -p "$root"
rm -rf "$root/.restore-$d"
mkdir "$root/.restore-$d"
tar -xzf - -C "$root/.restore-$d"
[ -e "$root/.restore-$d/$d/live/$d/cert.pem" ] || { echo "the backup holds no live/$d/cert.pem" >&2; exit 5; }
if [ -e "$root/$d" ]; then mv "$root/$d" "$root/.replaced-$d-$stamp"; fi
mv "$root/.restore-$d/$d" "$root/$d"
rmdir "$root/.restore-$d"`;

export function createCertBackupActivities({ paths, ssh }: { paths: SsPaths; ssh: SshConnector }) {
  function backupsOf(domain: string): CertBackup[] {
    const dir = paths.certBackupDir(domain);
    if (!fs.existsSync(dir)) return [];
    const out: CertBackup[] = [];
    for (const name of fs.readdirSync(dir)) {
      if (!name.endsWith(SUFFIX)) continue;
      const file = path.join(dir, name);
      try {
        const buf = fs.readFileSync(file);
        const h = sealedHeader(buf);
        out.push({
          file,
          domain: String(h.domain),
          serial: String(h.serial),
          notBefore: String(h.notBefore),
          notAfter: String(h.notAfter),
          bytes: buf.length,
        });
      } catch {
        // Not ours or damaged: listed by nobody, restored by nobody, deleted by nobody.
      }
    }
    return out.sort((a, b) => a.notBefore.localeCompare(b.notBefore) || a.file.localeCompare(b.file));
  }

  /**
   * Copies the site's certbot directory from the host into a sealed file here (skipped when this certificate is already
   * saved).
   */
  async function backupCertificate(
    host: WwwHost,
    domain: string,
    cert: CertificateInfo,
  ): Promise<CertBackup & { skipped: boolean }> {
    const existing = backupsOf(domain).find((b) => b.serial === cert.serial);
    if (existing) return { ...existing, skipped: true };
    const { root } = letsencryptPaths(host.dataPath, domain);
    const out = await ssh.session(host.ssh, ({ client }) =>
      runChecked(client, asRoot(host.ssh.user, ['sh', '-c', ARCHIVE_SCRIPT, 'sh', root, domain]), {
        timeoutMs: 120_000,
      }),
    );
    const archive = Buffer.from(out.stdout.trim(), 'base64');
    const keyring = loadOrCreateKeyring(paths.payloadKey);
    const sealed = seal(keyring, PURPOSE, archive, {
      domain,
      serial: cert.serial,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
    });

    const stamp = cert.notBefore.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const file = path.join(paths.certBackupDir(domain), `${stamp}-${cert.serial}${SUFFIX}`);
    replacePrivateFile(file, sealed);

    const all = backupsOf(domain);
    for (const old of all.slice(0, Math.max(0, all.length - CERT_BACKUPS_KEPT))) fs.rmSync(old.file, { force: true });
    return {
      file,
      domain,
      serial: cert.serial,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      bytes: sealed.length,
      skipped: false,
    };
  }

  /** The newest backup of a site's certificate on this machine, or null. */
  async function latestCertificateBackup(domain: string): Promise<CertBackup | null> {
    return backupsOf(domain).pop() ?? null;
  }

  /** Puts a backed-up certbot directory back on the host (see RESTORE_SCRIPT for why nothing live is lost). */
  async function restoreCertificateBackup(
    host: WwwHost,
    backup: Pick<CertBackup, 'file' | 'domain'>,
  ): Promise<{ restored: string }> {
    let opened;
    try {
      opened = unseal(loadOrCreateKeyring(paths.payloadKey), PURPOSE, fs.readFileSync(backup.file));
    } catch (err) {
      throw ApplicationFailure.nonRetryable(
        `Cannot open the certificate backup ${backup.file}: ${(err as Error).message}`,
        FailureType.Secret,
      );
    }
    if (opened.header.domain !== backup.domain) {
      throw ApplicationFailure.nonRetryable(
        `${backup.file} holds certificates of ${String(opened.header.domain)}, not ${backup.domain}.`,
        FailureType.Validation,
      );
    }
    const { root } = letsencryptPaths(host.dataPath, backup.domain);
    const stamp = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    await ssh.session(host.ssh, ({ client }) =>
      runChecked(client, asRoot(host.ssh.user, ['sh', '-c', RESTORE_SCRIPT, 'sh', root, backup.domain, stamp]), {
        stdin: opened.plaintext,
        timeoutMs: 120_000,
      }),
    );
    return { restored: String(opened.header.serial) };
  }

  return { backupCertificate, latestCertificateBackup, restoreCertificateBackup };
}
