import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, ConfigStubWritten } from '../../common/errors';
import { SsPaths } from '../../common/paths';
import {
  loadDeploymentConfig,
  loadProjectConfig,
  loadRemoteConfig,
  loadSiteConfig,
  remoteDeployments,
} from '../../common/config';
import { buildSsStubTree } from '../helpers/ss-stubs';

/**
 * The tree the newest Sovereign Stack (`incus` branch) writes: a remote.conf with no DEPLOYMENT_STRING, files of mode
 * 0744, links between the directories, and the keys its stubs carry (LNPLAY_SERVER_*, mail keys, DEPLOY_CLBOSS_PLUGIN).
 */

const temps: string[] = [];
after(() => temps.forEach((t) => fs.rmSync(t, { recursive: true, force: true })));

function tempRoot(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-sstree-'));
  temps.push(root);
  return root;
}

const CORPUS = path.resolve(__dirname, '../../../test/fixtures/config');

/**
 * A corpus tree in a temp dir, its links copied as they are (relative), not resolved into the fixtures. Its files are
 * made 0600 (git keeps no such mode); a test that wants ss's 0744 sets it.
 */
function copyTree(rel: string): SsPaths {
  const root = tempRoot();
  fs.cpSync(path.join(CORPUS, rel), root, { recursive: true, verbatimSymlinks: true });
  const paths = new SsPaths(root);
  for (const f of [paths.remoteConf('home'), paths.projectConf('public'), paths.siteConf('example.com')])
    if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
  return paths;
}

/** What fn wrote on stderr (warnOnce's lines), and its result. */
function stderrOf<T>(fn: () => T): { result: T; lines: string[] } {
  const write = process.stderr.write;
  let out = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    const result = fn();
    return { result, lines: out.split('\n').filter(Boolean) };
  } finally {
    process.stderr.write = write;
  }
}

function catchError<T extends Error>(type: new (...args: never[]) => T, fn: () => unknown): T {
  try {
    fn();
  } catch (err) {
    if (err instanceof type) return err;
    throw err;
  }
  assert.fail(`expected a ${type.name}`);
}

const TARGET = { remote: 'home', deployment: 'public' };

describe('the newest ss tree', () => {
  test('valid/ss-incus-stubs loads unchanged: no DEPLOYMENT_STRING, ss links, and one chmod line for its 0744 site.conf', () => {
    const paths = copyTree('valid/ss-incus-stubs');
    const files = [paths.remoteConf('home'), paths.projectConf('public'), paths.siteConf('example.com')];
    for (const f of files) fs.chmodSync(f, 0o744);
    const { result: cfg, lines } = stderrOf(() => loadDeploymentConfig(paths, TARGET));

    assert.equal(cfg.remote.deployments, undefined);
    assert.deepEqual(
      remoteDeployments(paths, cfg.remote),
      ['public'],
      'the deployments linked under remotes/home/projects',
    );
    assert.equal(cfg.project.bitcoinChain, 'regtest', "ss's default chain");
    assert.equal(cfg.project.www.macAddress, '02:11:11:00:00:01');
    assert.equal(cfg.project.btcpayserver.macAddress, '02:11:11:00:00:02');
    assert.equal(cfg.project.lnplayserver.macAddress, undefined);
    assert.deepEqual(
      cfg.sites.map((s) => s.domain),
      ['example.com'],
    );
    assert.match(cfg.sites[0].secrets.duplicityBackupPassphrase, /^[A-Za-z0-9+/]+=*$/);

    // Exactly one warning, one line, with the command to run; remote.conf and project.conf hold no secret.
    assert.deepEqual(lines, [
      `ssw: warning: ${files[2]} holds this site's passwords and is readable by other users (mode 744). Run: chmod 600 ${files[2]}`,
    ]);
    // ss's links are left as they are.
    assert.equal(fs.readlinkSync(path.join(paths.root, 'remotes/home/projects/public')), '../../../projects/public');
    assert.equal(
      fs.readlinkSync(path.join(paths.root, 'projects/public/sites/example.com')),
      '../../../sites/example.com',
    );
  });

  test('a tree built from the stub texts themselves (fresh gpg-style passwords) loads', () => {
    const root = tempRoot();
    buildSsStubTree(root, { ...TARGET, domain: 'example.org', macs: { www: '00:16:3e:00:00:01' } });
    const paths = new SsPaths(root);
    const cfg = stderrOf(() => loadDeploymentConfig(paths, TARGET)).result;
    assert.equal(cfg.project.primaryDomain, 'example.org');
    assert.equal(cfg.project.btcpayserver.macAddress, undefined, 'an empty MAC: not deployed');
  });

  test('without DEPLOYMENT_STRING any deployment may run on the remote, on the chain its project.conf names', () => {
    const paths = copyTree('valid/ss-incus-stubs');
    fs.mkdirSync(paths.projectDir('lab'), { recursive: true });
    fs.writeFileSync(paths.projectConf('lab'), 'PRIMARY_DOMAIN=example.com\nBITCOIN_CHAIN=testnet\n');
    const cfg = stderrOf(() => loadDeploymentConfig(paths, { remote: 'home', deployment: 'lab' })).result;
    assert.equal(cfg.project.bitcoinChain, 'testnet');
    assert.deepEqual(cfg.project.btcpayserver.disksGb, { ssdata: 30, backup: 30, docker: 100 });
    // The deployment is now linked to the remote as ss-up links it, so it is listed as one of the remote's.
    assert.equal(fs.readlinkSync(path.join(paths.root, 'remotes/home/projects/lab')), '../../../projects/lab');
    assert.deepEqual(remoteDeployments(paths, loadRemoteConfig(paths, 'home')), ['lab', 'public']);

    // With a DEPLOYMENT_STRING it is honoured exactly: listed deployments only, and the chains must agree.
    fs.writeFileSync(paths.remoteConf('home'), 'DEPLOYMENT_STRING="(public|mainnet)"\n');
    const err = catchError(ConfigError, () => loadDeploymentConfig(paths, { remote: 'home', deployment: 'lab' }));
    assert.deepEqual(
      err.problems.map((p) => p.key),
      ['DEPLOYMENT_STRING'],
    );
    assert.deepEqual(remoteDeployments(paths, loadRemoteConfig(paths, 'home')), ['public']);
    assert.equal(stderrOf(() => loadDeploymentConfig(paths, TARGET)).result.project.bitcoinChain, 'mainnet');
  });

  test("every key the newest ss's stubs and defaults carry is accepted; the mail keys get one line saying they are ignored, no value", () => {
    const paths = copyTree('valid/ss-incus-stubs');
    const site = paths.siteConf('example.com');
    fs.appendFileSync(
      site,
      [
        'GHOST_DEPLOY_SMTP=true',
        'MAILGUN_FROM_ADDRESS=false',
        'MAILGUN_SMTP_USERNAME=postmaster@mg.example.com',
        'MAILGUN_SMTP_PASSWORD="mailgun-secret-value"',
        'DEPLOY_CLBOSS_PLUGIN=false',
        '',
      ].join('\n'),
    );
    fs.appendFileSync(
      paths.projectConf('public'),
      'LNPLAY_SERVER_MAC_ADDRESS=02:11:11:00:00:03\nLNPLAY_SERVER_CPU_COUNT="4"\nLNPLAY_SERVER_MEMORY_MB="4096"\n',
    );
    const { result: cfg, lines } = stderrOf(() => loadDeploymentConfig(paths, TARGET));
    assert.deepEqual(cfg.project.lnplayserver, { macAddress: '02:11:11:00:00:03', cpuCount: 4, memoryMb: 4096 });
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0],
      /^ssw: warning: GHOST_DEPLOY_SMTP, MAILGUN_SMTP_USERNAME, MAILGUN_SMTP_PASSWORD in .*site\.conf are ignored: ssw sends no email .*feeds/,
    );
    assert.ok(!lines[0].includes('mailgun-secret-value') && !lines[0].includes('postmaster@'));
    assert.ok(!JSON.stringify(cfg).includes('mailgun-secret-value'), 'nothing unknown reaches the typed config');
    // Once per file: loading again says nothing more.
    assert.deepEqual(stderrOf(() => loadSiteConfig(paths, 'example.com')).lines, []);
  });

  test('project.conf (or remote.conf) readable by others gets the chmod line only when it holds a secret', () => {
    const paths = copyTree('valid/ss-incus-stubs');
    const project = paths.projectConf('public');
    const remote = paths.remoteConf('home');
    fs.chmodSync(project, 0o744);
    fs.chmodSync(remote, 0o744);
    assert.deepEqual(stderrOf(() => loadProjectConfig(paths, 'public')).lines, []);

    const other = copyTree('valid/ss-incus-stubs');
    fs.appendFileSync(other.projectConf('public'), 'MAILGUN_SMTP_PASSWORD=hunter2-in-project\n');
    fs.appendFileSync(other.remoteConf('home'), 'LXD_REMOTE_PASSWORD=hunter3-in-remote\n');
    fs.chmodSync(other.projectConf('public'), 0o744);
    fs.chmodSync(other.remoteConf('home'), 0o640);
    const a = stderrOf(() => loadProjectConfig(other, 'public')).lines;
    const b = stderrOf(() => loadRemoteConfig(other, 'home')).lines;
    assert.ok(
      a.includes(
        `ssw: warning: ${other.projectConf('public')} holds a secret (MAILGUN_SMTP_PASSWORD) and is readable by other users (mode 744). Run: chmod 600 ${other.projectConf('public')}`,
      ),
      a.join('\n'),
    );
    assert.deepEqual(b, [
      `ssw: warning: ${other.remoteConf('home')} holds a secret (LXD_REMOTE_PASSWORD) and is readable by other users (mode 640). Run: chmod 600 ${other.remoteConf('home')}`,
    ]);
    assert.ok(![...a, ...b].some((l) => l.includes('hunter')));
  });

  test('a path with a space gets a chmod line that can be pasted', () => {
    const root = path.join(tempRoot(), 'my ss');
    fs.cpSync(path.join(CORPUS, 'valid/ss-incus-stubs'), root, { recursive: true, verbatimSymlinks: true });
    // ss's 0744 less the owner's x bit (which git would keep): still readable by others.
    const paths = new SsPaths(root);
    fs.chmodSync(paths.siteConf('example.com'), 0o644);
    const { lines } = stderrOf(() => loadSiteConfig(paths, 'example.com'));
    assert.equal(lines.length, 1);
    assert.ok(lines[0].endsWith(`Run: chmod 600 '${paths.siteConf('example.com')}'`), lines[0]);
  });
});

describe('links between the directories, as ss-up makes them', () => {
  test('stubbing links the deployment to the remote and each site to the deployment, relative, like ln -r -s', () => {
    const paths = new SsPaths(tempRoot());
    catchError(ConfigStubWritten, () => loadDeploymentConfig(paths, TARGET));
    assert.equal(fs.readlinkSync(path.join(paths.root, 'remotes/home/projects/public')), '../../../projects/public');
    fs.writeFileSync(paths.projectConf('public'), 'PRIMARY_DOMAIN=example.com\nOTHER_SITES_LIST=example.org\n');
    const err = catchError(ConfigStubWritten, () => loadDeploymentConfig(paths, TARGET));
    assert.deepEqual(err.files, [paths.siteConf('example.com'), paths.siteConf('example.org')]);
    for (const d of ['example.com', 'example.org']) {
      const link = path.join(paths.root, 'projects/public/sites', d);
      assert.equal(fs.readlinkSync(link), `../../../sites/${d}`);
      assert.equal(fs.realpathSync(link), fs.realpathSync(paths.siteDir(d)));
    }
    assert.equal(fs.statSync(path.join(paths.root, 'projects/public/sites')).mode & 0o777, 0o700);
    stderrOf(() => loadDeploymentConfig(paths, TARGET)); // now valid: nothing changes
    assert.deepEqual(fs.readdirSync(path.join(paths.root, 'projects/public/sites')).sort(), [
      'example.com',
      'example.org',
    ]);
  });

  test('no link for a deployment the remote does not list, nor for a config with problems', () => {
    const paths = copyTree('valid/minimal');
    fs.mkdirSync(paths.projectDir('public'), { recursive: true });
    fs.writeFileSync(paths.projectConf('public'), 'PRIMARY_DOMAIN=intranet.example.net\n');
    catchError(ConfigError, () => loadDeploymentConfig(paths, TARGET));
    assert.equal(fs.existsSync(path.join(paths.root, 'remotes/home/projects')), false);
    fs.writeFileSync(paths.projectConf('intranet'), 'PRIMARY_DOMAIN=intranet.example.net\nWWW_SERVER_MAC_ADDRESS=zz\n');
    catchError(ConfigError, () => loadDeploymentConfig(paths, { remote: 'home', deployment: 'intranet' }));
    assert.equal(fs.existsSync(path.join(paths.root, 'remotes/home/projects')), false);
  });

  test('a DEPLOYMENT_STRING that cannot be read links the deployment to no remote, even while stubs are written', () => {
    const paths = new SsPaths(tempRoot());
    fs.mkdirSync(paths.remoteDir('home'), { recursive: true });
    fs.mkdirSync(paths.projectDir('public'), { recursive: true });
    fs.writeFileSync(paths.remoteConf('home'), 'DEPLOYMENT_STRING=garbage\n');
    fs.writeFileSync(paths.projectConf('public'), 'PRIMARY_DOMAIN=example.com\n');
    const err = catchError(ConfigStubWritten, () => loadDeploymentConfig(paths, TARGET));
    assert.deepEqual(err.files, [paths.siteConf('example.com')]);
    assert.equal(fs.existsSync(path.join(paths.root, 'remotes/home/projects')), false);
    assert.equal(
      fs.readlinkSync(path.join(paths.root, 'projects/public/sites/example.com')),
      '../../../sites/example.com',
    );
  });

  test("what is already there is left alone: the operator's directory, a dangling link", () => {
    const paths = copyTree('valid/ss-incus-stubs');
    fs.rmSync(path.join(paths.root, 'projects/public/sites/example.com'));
    fs.mkdirSync(path.join(paths.root, 'projects/public/sites/example.com'));
    fs.rmSync(path.join(paths.root, 'remotes/home/projects/public'));
    fs.symlinkSync('../../../nowhere', path.join(paths.root, 'remotes/home/projects/public'));
    const cfg = stderrOf(() => loadDeploymentConfig(paths, TARGET)).result;
    assert.ok(fs.lstatSync(path.join(paths.root, 'projects/public/sites/example.com')).isDirectory());
    assert.equal(fs.readlinkSync(path.join(paths.root, 'remotes/home/projects/public')), '../../../nowhere');
    assert.deepEqual(remoteDeployments(paths, cfg.remote), [], 'a dangling link names no deployment');
  });

  test('symlinked directories are read through, even from outside $SS_ROOT; the files themselves must still be regular', () => {
    const paths = copyTree('valid/ss-incus-stubs');
    const elsewhere = tempRoot();
    // The operator keeps the sites (passwords) on another volume and links them in.
    fs.renameSync(paths.siteDir('example.com'), path.join(elsewhere, 'example.com'));
    fs.symlinkSync(path.join(elsewhere, 'example.com'), paths.siteDir('example.com'));
    const cfg = stderrOf(() => loadDeploymentConfig(paths, TARGET)).result;
    assert.equal(cfg.sites[0].domain, 'example.com');

    // A conf "file" that is a directory (here through a link) is still refused as not a regular file.
    const site = paths.siteConf('example.com');
    fs.rmSync(site);
    fs.symlinkSync(elsewhere, site);
    const err = catchError(ConfigError, () => loadSiteConfig(paths, 'example.com'));
    assert.match(err.problems[0].message, /expected a regular file of at most 256 KiB, but it is a directory/);
  });
});
