import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A $SS_ROOT tree as the newest Sovereign Stack (its `incus` branch) leaves it, built from the stub texts it writes
 * (test/fixtures/config/ss-incus-stubs/*.heredoc, verbatim): expanded as bash expands the heredocs, mode 0744, and
 * linked with the same relative links `ln -r -s` makes. Only what ss tells the operator to fill is filled in:
 * PRIMARY_DOMAIN and the MAC addresses.
 */
const STUBS = path.resolve(__dirname, '../../../test/fixtures/config/ss-incus-stubs');

export interface SsStubTree {
  remote: string;
  deployment: string;
  domain: string;
  /** MAC addresses for WWW_SERVER_ / BTCPAY_SERVER_ / LNPLAY_SERVER_MAC_ADDRESS; an absent one stays empty. */
  macs: { www?: string; btcpay?: string; lnplay?: string };
}

/** What `gpg --gen-random --armor 1 25` prints: 25 random bytes in base64 (with "+", "/" and "="). */
const newPass = () => randomBytes(25).toString('base64');

function stub(name: string): string {
  return fs.readFileSync(path.join(STUBS, `${name}.heredoc`), 'utf8');
}

export function buildSsStubTree(
  root: string,
  t: SsStubTree,
): { remoteConf: string; projectConf: string; siteConf: string } {
  const remoteDir = path.join(root, 'remotes', t.remote);
  const projectDir = path.join(root, 'projects', t.deployment);
  const siteDir = path.join(root, 'sites', t.domain);
  for (const dir of [remoteDir, projectDir, siteDir, path.join(remoteDir, 'projects'), path.join(projectDir, 'sites')])
    fs.mkdirSync(dir, { recursive: true });
  const files = {
    remoteConf: path.join(remoteDir, 'remote.conf'),
    projectConf: path.join(projectDir, 'project.conf'),
    siteConf: path.join(siteDir, 'site.conf'),
  };
  fs.writeFileSync(files.remoteConf, stub('remote.conf'));
  const fill = (text: string, key: string, value: string | undefined) =>
    value === undefined ? text : text.replace(new RegExp(`^${key}=.*$`, 'm'), `${key}=${value}`);
  let project = stub('project.conf').replace('PRIMARY_DOMAIN="domain0.tld"', `PRIMARY_DOMAIN="${t.domain}"`);
  project = fill(project, 'WWW_SERVER_MAC_ADDRESS', t.macs.www);
  project = fill(project, 'BTCPAY_SERVER_MAC_ADDRESS', t.macs.btcpay);
  project = fill(project, 'LNPLAY_SERVER_MAC_ADDRESS', t.macs.lnplay);
  fs.writeFileSync(files.projectConf, project);
  fs.writeFileSync(
    files.siteConf,
    stub('site.conf')
      .replace(/\$\{DOMAIN_NAME\}/g, t.domain)
      .replace(/\$\(new_pass\)/g, () => newPass()),
  );
  for (const f of Object.values(files)) fs.chmodSync(f, 0o744);
  // ss-up: ln -r -s "$PROJECT_PATH" "$REMOTE_PATH/projects/$PROJECT_NAME",
  // and ln -r -s "$SITE_PATH" "$PROJECT_PATH/sites/$DOMAIN_NAME".
  fs.symlinkSync(path.join('..', '..', '..', 'projects', t.deployment), path.join(remoteDir, 'projects', t.deployment));
  fs.symlinkSync(path.join('..', '..', '..', 'sites', t.domain), path.join(projectDir, 'sites', t.domain));
  return files;
}
