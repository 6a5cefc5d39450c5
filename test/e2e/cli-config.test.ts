import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ssw } from '../helpers/cli';
import { buildSsStubTree } from '../helpers/ss-stubs';
import { tempSsRoot } from '../helpers/temporal';

// `ssw config check` through the real CLI, on the config corpus. No Temporal
// is needed: config is validated before anything connects or starts.
const CORPUS = path.resolve(__dirname, '../../../test/fixtures/config');
const NO_STACK = /\n\s+at .+:\d+:\d+/;

function copyTree(name: string): string {
  const root = tempSsRoot('ssw-config-');
  fs.cpSync(path.join(CORPUS, name), root, { recursive: true });
  fs.rmSync(path.join(root, 'expected.json'), { force: true });
  return root;
}

describe('ssw config check', () => {
  test('a valid deployment is reported valid, naming what was checked', () => {
    const root = copyTree('valid/full');
    const r = ssw(['config', 'check', '--remote', 'home', '--deployment', 'public', '--ss-root', root, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { valid: boolean; sites: string[] };
    assert.equal(doc.valid, true);
    assert.deepEqual(doc.sites.sort(), ['example.com', 'example.org']);
  });

  test('with no flags, every file under $SS_ROOT is checked', () => {
    const r = ssw(['config', 'check', '--ss-root', copyTree('valid/full')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /is valid: remotes home \(intranet, public\); deployments public; sites example\.com, example\.org\./,
    );
  });

  test('every problem in every file is reported at once, with file and key, exit 2, no stack', () => {
    const root = copyTree('invalid/many-files');
    const expected = JSON.parse(fs.readFileSync(path.join(CORPUS, 'invalid/many-files/expected.json'), 'utf8')) as {
      problems: { file: string; key: string }[];
    };
    const r = ssw(['config', 'check', '--remote', 'home', '--deployment', 'public', '--ss-root', root]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /The configuration has 4 problems; nothing was started:/);
    for (const p of expected.problems)
      assert.ok(r.stderr.includes(`${path.join(root, p.file)}: ${p.key}`), `${p.file}: ${p.key}`);
    assert.doesNotMatch(r.stderr, NO_STACK);
  });

  test('secret values never appear in error output', () => {
    const root = copyTree('invalid/secrets-not-echoed');
    const expected = JSON.parse(
      fs.readFileSync(path.join(CORPUS, 'invalid/secrets-not-echoed/expected.json'), 'utf8'),
    ) as {
      secrets: string[];
    };
    assert.ok(expected.secrets.length > 0);
    const r = ssw(['config', 'check', '--ss-root', root]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not shown because the key is secret/);
    for (const secret of expected.secrets) assert.ok(!r.stderr.includes(secret), `secret ${secret} leaked`);
  });

  test('missing files get commented stubs (mode 0600), exit 1, naming the files to edit', () => {
    const root = tempSsRoot('ssw-config-');
    const r = ssw(['config', 'check', '--remote', 'home', '--deployment', 'public', '--ss-root', root]);
    assert.equal(r.status, 1);
    const remoteConf = path.join(root, 'remotes', 'home', 'remote.conf');
    assert.ok(r.stderr.includes(remoteConf));
    assert.equal(fs.statSync(remoteConf).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(remoteConf, 'utf8'), /^#/m);
  });

  test("the newest ss's tree, built from its stub texts (0744, links, no DEPLOYMENT_STRING), is valid with one chmod line", () => {
    const root = tempSsRoot('ssw-config-');
    const t = { remote: 'home', deployment: 'public', domain: 'example.com' };
    const files = buildSsStubTree(root, { ...t, macs: { www: '02:11:11:00:00:01', btcpay: '02:11:11:00:00:02' } });
    const chmod = `ssw: warning: ${files.siteConf} holds this site's passwords and is readable by other users (mode 744). Run: chmod 600 ${files.siteConf}`;

    const all = ssw(['config', 'check', '--ss-root', root]);
    assert.equal(all.status, 0, all.stderr);
    assert.match(all.stdout, /is valid: remotes home \(public\); deployments public; sites example\.com\./);
    assert.deepEqual(all.stderr.split('\n').filter(Boolean), [chmod]);

    const one = ssw(['config', 'check', '--remote', 'home', '--deployment', 'public', '--ss-root', root, '--json']);
    assert.equal(one.status, 0, one.stderr);
    assert.deepEqual(JSON.parse(one.stdout).remoteDeployments, { home: ['public'] });
    assert.deepEqual(one.stderr.split('\n').filter(Boolean), [chmod]);

    // The operator turns on ss's mail lines: one more line, saying they are ignored and why, without any value.
    const site = fs.readFileSync(files.siteConf, 'utf8');
    fs.writeFileSync(
      files.siteConf,
      site
        .replace('#GHOST_DEPLOY_SMTP=true', 'GHOST_DEPLOY_SMTP=true')
        .replace('#MAILGUN_FROM_ADDRESS=false', 'MAILGUN_FROM_ADDRESS=false')
        .replace('#MAILGUN_SMTP_USERNAME=', 'MAILGUN_SMTP_USERNAME=postmaster@mg.example.com')
        .replace('#MAILGUN_SMTP_PASSWORD=', 'MAILGUN_SMTP_PASSWORD=mg-secret-4f1c'),
    );
    const mail = ssw(['config', 'check', '--remote', 'home', '--deployment', 'public', '--ss-root', root]);
    assert.equal(mail.status, 0, mail.stderr);
    const lines = mail.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 2, mail.stderr);
    assert.ok(lines.includes(chmod));
    assert.ok(
      lines.some((l) =>
        /GHOST_DEPLOY_SMTP, MAILGUN_SMTP_USERNAME, MAILGUN_SMTP_PASSWORD in .* are ignored: ssw sends no email/.test(l),
      ),
    );
    assert.ok(!mail.stderr.includes('mg-secret-4f1c'), 'the Mailgun password is never shown');
  });

  test("the seeds' multicast MAC is refused with why and what to use instead", () => {
    const r = ssw([
      'config',
      'check',
      '--remote',
      'home',
      '--deployment',
      'public',
      '--ss-root',
      copyTree('invalid/multicast-mac'),
    ]);
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /WWW_SERVER_MAC_ADDRESS: expected a unicast MAC address, got "11:11:11:00:00:01": that is a multicast address .* no network card can have\. Use a locally administered unicast address instead, such as 02:11:11:00:00:01/,
    );
    assert.match(r.stderr, /LNPLAY_SERVER_MAC_ADDRESS: .*the all-zero address/);
    assert.doesNotMatch(r.stderr, NO_STACK);
  });

  test('a bad name on the command line is refused before any file is touched', () => {
    const root = tempSsRoot('ssw-config-');
    const r = ssw(['config', 'check', '--remote', '../etc', '--deployment', 'public', '--ss-root', root]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /remote name must be/);
    assert.deepEqual(fs.readdirSync(root), []);
  });
});
