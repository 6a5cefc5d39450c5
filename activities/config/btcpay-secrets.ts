import * as fs from 'node:fs';
import { loadDeploymentConfig } from '../../common/config';
import { newPassword } from '../../common/config/stubs';
import type { SsPaths } from '../../common/paths';
import { replacePrivateFile } from '../../common/private-file';
import { configured } from './index';

/**
 * BTCPay's secrets, generated into the primary site's site.conf on the first
 * up that needs them (a site.conf written before BTCPay ran lacks them), 0600,
 * never shown: the activity returns only the names it added.
 */

/** The site.conf keys BTCPay's stacks read. */
export const BTCPAY_SECRET_KEYS = ['BTCPAY_POSTGRES_PASSWORD'] as const;

/** `text` with a fresh value appended for each key it lacks (or sets empty), and the keys added. */
export function withBtcpaySecrets(text: string, make: () => string = newPassword): { text: string; added: string[] } {
  const set = (key: string) => new RegExp(`^[ \\t]*(?:export[ \\t]+)?${key}=["']?[^"'\\s]`, 'm').test(text);
  const empty = (key: string) => new RegExp(`^[ \\t]*(?:export[ \\t]+)?${key}=(?:""|'')?[ \\t]*$`, 'm');
  const added = BTCPAY_SECRET_KEYS.filter((k) => !set(k));
  if (!added.length) return { text, added: [] };
  let out = text;
  const append: string[] = [];
  for (const k of added) {
    // An empty assignment (as a hand-edited file may have) is filled in where it is: one assignment per key.
    if (empty(k).test(out)) out = out.replace(empty(k), `${k}="${make()}"`);
    else append.push(`${k}="${make()}"`);
  }
  if (append.length) {
    const sep = out === '' || out.endsWith('\n') ? '' : '\n';
    out = `${out}${sep}# Added by ssw for BTCPay Server (keep it private).\n${append.join('\n')}\n`;
  }
  return { text: out, added: [...added] };
}

export function createBtcpaySecretActivities({ paths }: { paths: SsPaths }) {
  /** Adds BTCPay's missing secrets to the primary site's site.conf; returns the names added (never the values). */
  async function ensureBtcpaySecrets(remote: string, deployment: string): Promise<{ added: string[]; file: string }> {
    const config = configured(() => loadDeploymentConfig(paths, { remote, deployment }));
    // The file the link points at (ss links site.conf into projects/): replaced there, the link kept.
    const file = fs.realpathSync(paths.siteConf(config.project.primaryDomain));
    const before = fs.readFileSync(file, 'utf8');
    const { text, added } = withBtcpaySecrets(before);
    if (added.length) replacePrivateFile(file, text);
    return { added, file };
  }
  return { ensureBtcpaySecrets };
}
