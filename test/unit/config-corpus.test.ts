import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, type ConfigProblem } from '../../common/errors';
import { SsPaths } from '../../common/paths';
import { loadDeploymentConfig, loadProjectConfig, loadRemoteConfig, loadSiteConfig } from '../../common/config';

/**
 * The corpus under test/fixtures/config: `valid/<case>` trees load, and each
 * `invalid/<case>` tree fails with exactly the problems its expected.json lists.
 * Trees are copied to a temp dir first, so a stub can never land in the fixtures.
 */

interface ExpectedProblem {
  file: string; // relative to the tree
  key?: string;
  line?: number;
  message: string; // a substring of the actual message
}
interface InvalidCase {
  remote: string;
  deployment: string;
  problems: ExpectedProblem[];
  /** Strings that must not appear in any message. */
  secrets?: string[];
}

function fixturesDir(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'test', 'fixtures', 'config'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('test/fixtures/config not found');
    dir = up;
  }
  return path.join(dir, 'test', 'fixtures', 'config');
}

const temps: string[] = [];
after(() => temps.forEach((t) => fs.rmSync(t, { recursive: true, force: true })));

function copyTree(rel: string): SsPaths {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-config-'));
  temps.push(root);
  fs.cpSync(path.join(fixturesDir(), rel), root, {
    recursive: true,
    filter: (src) => path.basename(src) !== 'expected.json',
  });
  return new SsPaths(root);
}

function catchConfigError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

describe('config corpus: valid trees', () => {
  test('a full tree loads with every value typed, including unknown keys left out', () => {
    const paths = copyTree('valid/full');
    const cfg = loadDeploymentConfig(paths, { remote: 'home', deployment: 'public' });

    assert.deepEqual(cfg.remote, {
      name: 'home',
      deployments: [
        { deployment: 'intranet', chain: 'regtest' },
        { deployment: 'public', chain: 'mainnet' },
      ],
      registryUrl: 'http://registry.example.net:5000',
      acmeServer: 'https://127.0.0.1:14000/dir',
      dataPlaneNetwork: 'lxdbr0',
      imageSource: 'airgapped',
    });

    const p = cfg.project;
    assert.equal(p.name, 'public');
    assert.equal(p.primaryDomain, 'example.com');
    assert.deepEqual(p.otherSites, ['example.org']);
    assert.deepEqual(p.domains, ['example.com', 'example.org']);
    assert.equal(p.bitcoinChain, 'mainnet');
    assert.equal(p.instanceType, 'container');
    assert.equal(p.baseImage, 'ss-docker-bookworm');
    // MACs are normalised to lowercase; the operator's sizes win over the chain defaults.
    assert.deepEqual(p.www, {
      macAddress: '00:16:3e:aa:bb:01',
      cpuCount: 6,
      memoryMb: 8192,
      disksGb: { ssdata: 100, backup: 40, docker: 1000 },
    });
    assert.deepEqual(p.btcpayserver, {
      macAddress: '00:16:3e:aa:bb:02',
      cpuCount: 4,
      memoryMb: 4096,
      disksGb: { ssdata: 30, backup: 30, docker: 250 },
    });
    assert.deepEqual(p.lnplayserver, { cpuCount: 4, memoryMb: 4096 });
    assert.equal(p.images.ghost, 'ghost:5.104.1');
    assert.deepEqual(p.proxyPorts, { http: 80, https: 8443 }, 'PROXY_HTTPS_PORT set, PROXY_HTTP_PORT by default');
    assert.equal(p.images.nginx, 'registry.example.net:5000/library/nginx:1.27.4');
    assert.equal(p.images.nextcloud, 'nextcloud:25.0.4');
    assert.ok(!('MY_NOTE' in p) && !JSON.stringify(cfg).includes('never evaluated'));
    assert.ok(
      !JSON.stringify(cfg.remote).includes('not-used-by-ssw'),
      'LXD_REMOTE_PASSWORD is not part of RemoteConfig',
    );

    assert.deepEqual(
      cfg.sites.map((s) => s.domain),
      ['example.com', 'example.org'],
    );
    assert.deepEqual(cfg.sites[0], {
      domain: 'example.com',
      languageCodes: ['en', 'es', 'pt-br'],
      deploy: { ghost: true, nextcloud: true, gitea: false, nostr: true },
      btcpayAltNames: ['tip', 'store', 'pay', 'send'],
      nostrAccountPubkey: '3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d',
      backupFullEveryDays: 30,
      backupKeepDays: 90,
      secrets: {
        duplicityBackupPassphrase: 'passphrase-example-com',
        ghostMysqlPassword: 'ghost-pw-example-com',
        ghostMysqlRootPassword: 'ghost-root-pw-example-com',
        nextcloudMysqlPassword: 'nextcloud-pw-example-com',
        nextcloudMysqlRootPassword: 'nextcloud-root-pw-example-com',
      },
    });
    assert.deepEqual(cfg.sites[1], {
      domain: 'example.org',
      languageCodes: ['en'],
      deploy: { ghost: false, nextcloud: false, gitea: false, nostr: false },
      btcpayAltNames: [],
      acmeServer: 'https://acme.example.org/directory',
      backupFullEveryDays: 7,
      backupKeepDays: 0,
      secrets: { duplicityBackupPassphrase: 'passphrase-example-org' },
    });
  });

  test("a minimal tree gets ss's defaults for every absent key", () => {
    const paths = copyTree('valid/minimal');
    const cfg = loadDeploymentConfig(paths, { remote: 'home', deployment: 'intranet' });
    assert.equal(cfg.remote.registryUrl, 'https://index.docker.io/v1');
    assert.equal(cfg.remote.acmeServer, undefined);
    const p = cfg.project;
    assert.equal(p.bitcoinChain, 'regtest');
    assert.equal(p.instanceType, 'virtual-machine');
    assert.equal(p.baseImage, undefined);
    assert.deepEqual(p.otherSites, []);
    assert.deepEqual(p.www, { cpuCount: 4, memoryMb: 4096, disksGb: { ssdata: 20, backup: 50, docker: 30 } });
    assert.deepEqual(p.btcpayserver, { cpuCount: 4, memoryMb: 4096, disksGb: { ssdata: 20, backup: 20, docker: 30 } });
    assert.deepEqual(p.hostnames, {
      www: 'www',
      btcpayServer: 'btcpayserver',
      lnplayServer: 'lnplayserver',
      btcpayInCert: 'btcpay',
      nextcloud: 'nextcloud',
      gitea: 'git',
      nostr: 'relay',
    });
    assert.deepEqual(p.images, {
      ghost: 'ghost:5.103.0',
      ghostDb: 'mysql:8.0.32',
      nginx: 'nginx:1.27.3',
      nextcloud: 'nextcloud:25.0.4',
      nextcloudDb: 'mariadb:10.11.2-jammy',
      gitea: 'gitea/gitea:1.22.3',
      giteaDb: 'mariadb:10.11.2-jammy',
      nostrRelay: 'scsibug/nostr-rs-relay:0.9.0',
    });
    for (const [name, image] of Object.entries(p.images)) {
      assert.match(
        image,
        /:[0-9][A-Za-z0-9_.-]*$/,
        `the default ${name} image is pinned to a version tag, not :latest`,
      );
    }
    const [site] = cfg.sites;
    assert.deepEqual(site.languageCodes, ['en']);
    assert.deepEqual(site.deploy, { ghost: true, nextcloud: false, gitea: false, nostr: false });
    assert.deepEqual(site.btcpayAltNames, []);
  });

  test('the single-file loaders read the same files', () => {
    const paths = copyTree('valid/full');
    assert.equal(loadRemoteConfig(paths, 'home').deployments?.length, 2);
    // Alone, project.conf's own BITCOIN_CHAIN decides the chain and so the disk defaults.
    const p = loadProjectConfig(paths, 'public');
    assert.equal(p.bitcoinChain, 'mainnet');
    assert.equal(p.www.disksGb.docker, 1000);
    assert.equal(loadSiteConfig(paths, 'example.org').domain, 'example.org');
  });

  test('the chain from DEPLOYMENT_STRING picks the disk defaults when project.conf sets none', () => {
    const paths = copyTree('valid/minimal');
    fs.writeFileSync(paths.remoteConf('home'), 'DEPLOYMENT_STRING="(intranet|testnet)"\n');
    const { project } = loadDeploymentConfig(paths, { remote: 'home', deployment: 'intranet' });
    assert.equal(project.bitcoinChain, 'testnet');
    assert.deepEqual(project.btcpayserver.disksGb, { ssdata: 30, backup: 30, docker: 100 });
    // Alone, the project falls back to ss's default chain.
    assert.equal(loadProjectConfig(paths, 'intranet').bitcoinChain, 'regtest');
  });

  test('DEPLOYMENT_STRING tolerates blanks around commas', () => {
    const paths = copyTree('valid/minimal');
    fs.writeFileSync(
      paths.remoteConf('home'),
      'DEPLOYMENT_STRING="(intranet|regtest), (public|mainnet) ,(lab|signet)"\n',
    );
    assert.deepEqual(loadRemoteConfig(paths, 'home').deployments, [
      { deployment: 'intranet', chain: 'regtest' },
      { deployment: 'public', chain: 'mainnet' },
      { deployment: 'lab', chain: 'signet' },
    ]);
  });

  test("a fixed instance address only on DATA_PLANE_NETWORK: elsewhere the LAN's DHCP reservation is the way, and the error says so", () => {
    const paths = copyTree('valid/minimal');
    fs.appendFileSync(paths.projectConf('intranet'), '\nWWW_SERVER_IPV4_ADDRESS=10.0.0.20\n');
    assert.throws(
      () => loadDeploymentConfig(paths, { remote: 'home', deployment: 'intranet' }),
      (err: Error) => {
        assert.match(err.message, /WWW_SERVER_IPV4_ADDRESS.*DATA_PLANE_NETWORK.*reserve this address/s);
        return true;
      },
    );
    fs.appendFileSync(paths.remoteConf('home'), '\nDATA_PLANE_NETWORK=lxdbr0\n');
    assert.equal(
      loadDeploymentConfig(paths, { remote: 'home', deployment: 'intranet' }).project.www.ipv4Address,
      '10.0.0.20',
    );
  });

  test('CRLF files load like LF files', () => {
    const paths = copyTree('valid/full');
    for (const file of [
      paths.remoteConf('home'),
      paths.projectConf('public'),
      paths.siteConf('example.com'),
      paths.siteConf('example.org'),
    ]) {
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/\n/g, '\r\n'));
    }
    const crlf = loadDeploymentConfig(paths, { remote: 'home', deployment: 'public' });
    const lf = loadDeploymentConfig(copyTree('valid/full'), { remote: 'home', deployment: 'public' });
    assert.deepEqual(crlf, lf);
  });
});

describe('config corpus: invalid trees', () => {
  const invalidDir = path.join(fixturesDir(), 'invalid');
  for (const name of fs.readdirSync(invalidDir).sort()) {
    const expected = JSON.parse(fs.readFileSync(path.join(invalidDir, name, 'expected.json'), 'utf8')) as InvalidCase;

    test(`${name}: reports exactly the expected problems, all at once`, () => {
      const paths = copyTree(path.join('invalid', name));
      const err = catchConfigError(() =>
        loadDeploymentConfig(paths, { remote: expected.remote, deployment: expected.deployment }),
      );
      assert.equal(err.exitCode, 2);
      const actual = err.problems.map((p) => ({ ...p, file: path.relative(paths.root, p.file) }));
      assertProblems(actual, expected.problems);

      // No stub may be written while checking an existing tree.
      const before = listFiles(path.join(invalidDir, name)).filter((f) => f !== 'expected.json');
      assert.deepEqual(listFiles(paths.root), before.sort());

      for (const secret of expected.secrets ?? []) {
        const shown = JSON.stringify(err.problems).split(paths.root).join('') + err.message.split(paths.root).join('');
        assert.ok(!shown.includes(secret), `secret ${JSON.stringify(secret)} appears in the error`);
      }
    });
  }
});

function assertProblems(actual: ConfigProblem[], expected: ExpectedProblem[]): void {
  const render = (ps: Array<ConfigProblem | ExpectedProblem>) =>
    ps.map((p) => `${p.file} ${p.key ?? '-'} ${p.line ?? '-'}: ${p.message}`).join('\n');
  const unmatched = [...actual];
  for (const e of expected) {
    const i = unmatched.findIndex(
      (a) =>
        a.file === e.file &&
        a.key === e.key &&
        (e.line === undefined || a.line === e.line) &&
        a.message.includes(e.message),
    );
    assert.ok(i >= 0, `expected problem not reported:\n${render([e])}\nactual:\n${render(actual)}`);
    unmatched.splice(i, 1);
  }
  assert.equal(unmatched.length, 0, `unexpected problems:\n${render(unmatched)}`);
}

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(path.relative(root, full));
    }
  };
  walk(root);
  return out.sort();
}
