import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, ConfigStubWritten, UserError } from '../../common/errors';
import { SsPaths } from '../../common/paths';
import {
  loadDeploymentConfig,
  loadProjectConfig,
  loadRemoteConfig,
  loadSiteConfig,
  parseConfFile,
} from '../../common/config';

const temps: string[] = [];
after(() => temps.forEach((t) => fs.rmSync(t, { recursive: true, force: true })));

function emptyRoot(): SsPaths {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-stubs-'));
  temps.push(root);
  return new SsPaths(root);
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

const mode = (p: string) => fs.statSync(p).mode & 0o777;

const TARGET = { remote: 'home', deployment: 'public' };

describe('config stubs', () => {
  test('missing remote.conf and project.conf are both stubbed in one run, exit code 1', () => {
    const paths = emptyRoot();
    const err = catchError(ConfigStubWritten, () => loadDeploymentConfig(paths, TARGET));
    assert.equal(err.exitCode, 1);
    assert.deepEqual(err.files, [paths.remoteConf('home'), paths.projectConf('public')]);
    assert.match(err.message, /did not exist, so commented stubs were written there/);
    for (const f of err.files) assert.ok(err.message.includes(f));
  });

  test('stubs are files of mode 0600 in directories of mode 0700', () => {
    const paths = emptyRoot();
    catchError(ConfigStubWritten, () => loadDeploymentConfig(paths, TARGET));
    fs.writeFileSync(paths.remoteConf('home'), 'DEPLOYMENT_STRING="(public|mainnet)"\n');
    fs.writeFileSync(paths.projectConf('public'), 'PRIMARY_DOMAIN=example.com\n');
    catchError(ConfigStubWritten, () => loadDeploymentConfig(paths, TARGET));
    for (const file of [paths.remoteConf('home'), paths.projectConf('public'), paths.siteConf('example.com')]) {
      assert.equal(mode(file), 0o600, file);
    }
    for (const dir of ['remotes', 'remotes/home', 'projects', 'projects/public', 'sites', 'sites/example.com']) {
      assert.equal(mode(path.join(paths.root, dir)), 0o700, dir);
    }
  });

  test('the stubs themselves are clean files: no syntax problems, and only the choices left to make', () => {
    const paths = emptyRoot();
    catchError(ConfigStubWritten, () => loadDeploymentConfig(paths, TARGET));
    for (const file of [paths.remoteConf('home'), paths.projectConf('public')]) {
      assert.deepEqual(parseConfFile(fs.readFileSync(file, 'utf8'), file).problems, []);
    }
    // Run again: the stubs now exist and say exactly what is left to decide.
    const err = catchError(ConfigError, () => loadDeploymentConfig(paths, TARGET));
    assert.deepEqual(
      err.problems.map((p) => [path.relative(paths.root, p.file), p.key]),
      [['projects/public/project.conf', 'PRIMARY_DOMAIN']],
    );
  });

  test('site.conf stubs for every domain get fresh random secrets and load as they are', () => {
    const paths = emptyRoot();
    fs.mkdirSync(paths.remoteDir('home'), { recursive: true });
    fs.mkdirSync(paths.projectDir('public'), { recursive: true });
    fs.writeFileSync(paths.remoteConf('home'), 'DEPLOYMENT_STRING="(public|mainnet)"\n');
    fs.writeFileSync(
      paths.projectConf('public'),
      'PRIMARY_DOMAIN=example.com\nOTHER_SITES_LIST="example.org,example.net"\n',
    );

    const err = catchError(ConfigStubWritten, () => loadDeploymentConfig(paths, TARGET));
    assert.deepEqual(
      err.files,
      ['example.com', 'example.org', 'example.net'].map((d) => paths.siteConf(d)),
    );
    for (const f of err.files) assert.equal(mode(f), 0o600);

    const { sites } = loadDeploymentConfig(paths, TARGET);
    assert.deepEqual(
      sites.map((s) => s.domain),
      ['example.com', 'example.org', 'example.net'],
    );
    const secrets = sites.flatMap((s) => Object.values(s.secrets));
    assert.equal(secrets.length, 3 * 8);
    assert.equal(new Set(secrets).size, secrets.length, 'every secret is different');
    for (const s of secrets) assert.match(s, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(sites[0].deploy, { ghost: true, nextcloud: false, gitea: false, nostr: false });
    assert.deepEqual(sites[0].languageCodes, ['en']);
  });

  test('an existing file is never overwritten, even one that is invalid', () => {
    const paths = emptyRoot();
    fs.mkdirSync(paths.remoteDir('home'), { recursive: true });
    const mine = '# mine\nDEPLOYMENT_STRING=garbage\n';
    fs.writeFileSync(paths.remoteConf('home'), mine);
    const err = catchError(ConfigStubWritten, () => loadDeploymentConfig(paths, TARGET));
    assert.deepEqual(err.files, [paths.projectConf('public')]);
    assert.equal(fs.readFileSync(paths.remoteConf('home'), 'utf8'), mine);
    // The problems of the files that did exist come along with the stub notice.
    assert.deepEqual(
      err.problems.map((p) => p.key),
      ['DEPLOYMENT_STRING'],
    );
    assert.match(err.message, /DEPLOYMENT_STRING: expected a list of \(deployment\|chain\) entries/);

    const before = fs.readFileSync(paths.projectConf('public'), 'utf8');
    catchError(ConfigError, () => loadDeploymentConfig(paths, TARGET));
    assert.equal(
      fs.readFileSync(paths.projectConf('public'), 'utf8'),
      before,
      'a stub is written once, then left alone',
    );
  });

  test('no stub is written for a domain from a key that has a problem', () => {
    const paths = emptyRoot();
    fs.mkdirSync(paths.remoteDir('home'), { recursive: true });
    fs.mkdirSync(paths.projectDir('public'), { recursive: true });
    fs.writeFileSync(paths.remoteConf('home'), 'DEPLOYMENT_STRING="(public|mainnet)"\n');
    fs.writeFileSync(
      paths.projectConf('public'),
      'PRIMARY_DOMAIN=example.com\nOTHER_SITES_LIST=a.example.org#b\nWWW_SERVER_MAC_ADDRESS=zz\n',
    );
    const err = catchError(ConfigStubWritten, () => loadDeploymentConfig(paths, TARGET));
    assert.deepEqual(err.files, [paths.siteConf('example.com')]);
    assert.deepEqual(
      err.problems.map((p) => p.key),
      ['OTHER_SITES_LIST', 'WWW_SERVER_MAC_ADDRESS'],
    );
    assert.equal(fs.existsSync(paths.siteDir('a.example.org')), false);
  });

  test('the single-file loaders stub their own file', () => {
    const paths = emptyRoot();
    assert.deepEqual(catchError(ConfigStubWritten, () => loadRemoteConfig(paths, 'home')).files, [
      paths.remoteConf('home'),
    ]);
    assert.deepEqual(catchError(ConfigStubWritten, () => loadProjectConfig(paths, 'public')).files, [
      paths.projectConf('public'),
    ]);
    assert.deepEqual(catchError(ConfigStubWritten, () => loadSiteConfig(paths, 'example.com')).files, [
      paths.siteConf('example.com'),
    ]);
    assert.equal(loadSiteConfig(paths, 'example.com').domain, 'example.com');
  });

  test('invalid names are refused before any path is built or written', () => {
    const paths = emptyRoot();
    for (const fn of [
      () => loadDeploymentConfig(paths, { remote: '../evil', deployment: 'public' }),
      () => loadDeploymentConfig(paths, { remote: 'home', deployment: 'a/b' }),
      () => loadSiteConfig(paths, '../../etc'),
      () => loadProjectConfig(paths, 'Public'),
    ]) {
      const err = catchError(UserError, fn);
      assert.equal(err.exitCode, 2);
    }
    assert.deepEqual(fs.readdirSync(paths.root), []);
  });
});
