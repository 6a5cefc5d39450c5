import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SiteConfig } from '../../common/config';
import { appNames, appStacks, stacksOfApp } from '../../common/stacks/apps';
import { proxyStack, renderNginxConf } from '../../common/stacks/proxy';
import { diffStacks } from '../../common/stacks/diff';
import { canonicalJson, containerHash, filesHash, domainIdentifier, type StackSpec } from '../../common/stacks/spec';
import { deploymentConfig } from '../fixtures/deployment';

/**
 * The stacks and nginx.conf rendered from a config, against golden files in
 * test/fixtures/stacks (UPDATE_GOLDEN=1 rewrites them; review the diff).
 */

const GOLDEN = path.resolve(__dirname, '../../../test/fixtures/stacks');

function golden(name: string, actual: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    fs.mkdirSync(GOLDEN, { recursive: true });
    fs.writeFileSync(file, actual);
  }
  assert.equal(
    actual,
    fs.readFileSync(file, 'utf8'),
    `${name} differs from the golden file (UPDATE_GOLDEN=1 rewrites it)`,
  );
}

function site(domain: string, over: Partial<SiteConfig> = {}): SiteConfig {
  return {
    domain,
    languageCodes: ['en'],
    deploy: { ghost: true, nextcloud: false, gitea: false, nostr: false },
    btcpayAltNames: [],
    backupFullEveryDays: 30,
    backupKeepDays: 90,
    secrets: {
      duplicityBackupPassphrase: 'never-rendered-1',
      ghostMysqlPassword: 'never-rendered-2',
      ghostMysqlRootPassword: 'never-rendered-3',
    },
    ...over,
  };
}

const PUBKEY = 'a'.repeat(64);
const config = {
  ...deploymentConfig(),
  sites: [
    site('example.com', {
      languageCodes: ['en', 'es'],
      deploy: { ghost: true, nextcloud: true, gitea: true, nostr: true },
      btcpayAltNames: ['tip', 'store'],
      nostrAccountPubkey: PUBKEY,
      secrets: {
        duplicityBackupPassphrase: 'never-rendered-4',
        ghostMysqlPassword: 'never-rendered-5',
        ghostMysqlRootPassword: 'never-rendered-6',
        nextcloudMysqlPassword: 'never-rendered-7',
        nextcloudMysqlRootPassword: 'never-rendered-8',
        giteaMysqlPassword: 'never-rendered-9',
        giteaMysqlRootPassword: 'never-rendered-10',
      },
    }),
    site('example.org'),
  ],
};
config.project.images = {
  ghost: 'ghost:5.103.0',
  ghostDb: 'mysql:8.0.32',
  nginx: 'nginx:1.27.3',
  nextcloud: 'nextcloud:25.0.4',
  nextcloudDb: 'mariadb:10.11.2-jammy',
  gitea: 'gitea/gitea:1.22',
  giteaDb: 'mariadb:10.11.2-jammy',
  nostrRelay: 'scsibug/nostr-rs-relay:0.9.0',
};

describe('stacks rendered from the config', () => {
  const apps = appStacks(config);
  const proxy = proxyStack(config, apps, { btcpayUpstream: '10.151.7.66:80' });

  test('nginx.conf (golden)', () => {
    golden('nginx.conf', renderNginxConf(config, { btcpayUpstream: '10.151.7.66:80' }));
  });

  test('nginx itself accepts the rendered config (nginx -t, certificates and paths made for the test)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-nginx-'));
    try {
      for (const d of ['example.com', 'example.org']) {
        const live = path.join(dir, 'letsencrypt', d, 'live', d);
        fs.mkdirSync(live, { recursive: true });
        execFileSync(
          'openssl',
          [
            'req',
            '-x509',
            '-newkey',
            'ec',
            '-pkeyopt',
            'ec_paramgen_curve:P-256',
            '-nodes',
            '-days',
            '1',
            '-subj',
            `/CN=${d}`,
            '-keyout',
            path.join(live, 'privkey.pem'),
            '-out',
            path.join(live, 'fullchain.pem'),
          ],
          { stdio: 'pipe' },
        );
      }
      const conf = renderNginxConf(config, { btcpayUpstream: '10.151.7.66:80' })
        .replaceAll('/etc/letsencrypt/', `${dir}/letsencrypt/`)
        .replace('include mime.types;', 'include /etc/nginx/mime.types;')
        .replace(
          'worker_processes auto;',
          `worker_processes auto;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;`,
        );
      fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
      const r = spawnSync('nginx', ['-t', '-q', '-p', dir, '-c', path.join(dir, 'nginx.conf')], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every stack (golden), secrets only as references to site.conf keys', () => {
    const rendered = JSON.stringify([...apps, proxy], null, 2) + '\n';
    golden('stacks.json', rendered);
    assert.doesNotMatch(rendered, /never-rendered/);
    assert.match(rendered, /"secret": "GITEA_MYSQL_PASSWORD"/);
  });

  test("database passwords reach containers as 0400 files through the images' *_FILE variables; only Ghost's stays in an environment (its image reads no file)", () => {
    const inEnv: string[] = [];
    for (const c of [...apps, proxy].flatMap((s) => s.containers)) {
      for (const [k, v] of Object.entries(c.env)) if (typeof v === 'object') inEnv.push(`${c.name} ${k}`);
      for (const f of c.secretFiles?.files ?? []) {
        assert.equal(c.env[f.env], `/run/secrets/${f.name}`, `${c.name} ${f.env}`);
        assert.ok(
          c.volumes.some(
            (v) =>
              v.container === '/run/secrets' && v.readOnly && v.host === `/home/ubuntu/ss-data/.ssw/secrets/${c.name}`,
          ),
          c.name,
        );
      }
    }
    assert.ok(
      inEnv.length > 0 && inEnv.every((e) => / database__connection__password$/.test(e) && e.startsWith('ghost-')),
      inEnv.join(', '),
    );
    const id = domainIdentifier('example.com');
    const files = (name: string) => {
      const c = apps.flatMap((s) => s.containers).find((x) => x.name === name)!;
      return [
        c.secretFiles?.uid,
        Object.keys(c.env)
          .filter((k) => k.endsWith('_FILE'))
          .sort(),
      ];
    };
    assert.deepEqual(files(`ghostdb-${id}-en`), [999, ['MYSQL_PASSWORD_FILE', 'MYSQL_ROOT_PASSWORD_FILE']]);
    assert.deepEqual(files(`nextclouddb-${id}-en`), [999, ['MARIADB_ROOT_PASSWORD_FILE', 'MYSQL_PASSWORD_FILE']]);
    assert.deepEqual(files(`nextcloud-${id}-en`), [
      33,
      ['MYSQL_DATABASE_FILE', 'MYSQL_PASSWORD_FILE', 'MYSQL_USER_FILE'],
    ]);
    assert.deepEqual(files(`gitea-${id}-en`), [1000, ['GITEA__database__PASSWD__FILE']]);
  });

  test("ss's names: DOMAIN_IDENTIFIER, one Ghost stack per language, the first language at /", () => {
    const id = domainIdentifier('example.com');
    assert.match(id, /^[0-9a-f]{6}$/);
    assert.deepEqual(
      apps.map((s) => s.name),
      [
        `${id}-ghost-en`,
        `${id}-ghost-es`,
        `${id}-nextcloud-en`,
        `${id}-gitea-en`,
        `${id}-nostr-en`,
        `${domainIdentifier('example.org')}-ghost-en`,
      ],
    );
    const ghostEs = apps[1]!.containers[1]!;
    assert.equal(ghostEs.env.url, 'https://www.example.com/es');
    assert.equal(apps[0]!.containers[1]!.env.url, 'https://www.example.com');
    const conf = renderNginxConf(config);
    assert.match(conf, new RegExp(`location /es/ \\{[^}]*ghost-${id}-es:2368`));
    assert.match(
      conf,
      /location \/ \{\n\s+return 503;/,
      'BTCPay names answer 503 while the btcpayserver instance is not deployed',
    );
  });

  test('the proxy starts on its own network and joins every app network, never a database network, and carries the label cert renewal reloads by', () => {
    assert.equal(proxy.networks[0], 'reverse-proxy-net');
    assert.ok(
      proxy.networks.length === 7 && proxy.networks.every((n) => !n.includes('dbnet')),
      proxy.networks.join(' '),
    );
    assert.equal(proxy.containers[0]!.labels?.['ssw.role'], 'reverse-proxy');
    assert.deepEqual(proxy.containers[0]!.reload, { test: ['nginx', '-t', '-q'], signal: 'SIGHUP' });
  });

  test('the hash changes with the spec, not with anything else', () => {
    const c = apps[0]!.containers[1]!;
    assert.equal(containerHash(c), containerHash(structuredClone(c)));
    assert.notEqual(containerHash(c), containerHash({ ...c, image: 'ghost:5.104.0' }));
    // Networks are joined and left, and files reloaded, on the running container: neither replaces it.
    assert.equal(containerHash(c), containerHash({ ...c, networks: [] }));
    const p = proxy.containers[0]!;
    const edited = { ...p, files: p.files!.map((f) => ({ ...f, content: `${f.content}\n# edited` })) };
    assert.equal(containerHash(p), containerHash(edited));
    assert.notEqual(filesHash(p), filesHash(edited));
    assert.equal(filesHash(c), undefined, 'no files, nothing to reload');
    assert.equal(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }), '{"a":[2,{"c":4,"d":3}],"b":1}');
  });
});

describe('the stack plan: rendered specs against what the engine runs', () => {
  const apps = appStacks(config);
  const all = [proxyStack(config, apps), ...apps];
  const running = (spec: StackSpec) =>
    spec.containers.map((c) => ({ name: c.name, hash: containerHash(c), running: true }));
  const loadedAll = Object.fromEntries(
    all
      .flatMap((s) => s.containers)
      .filter((c) => filesHash(c))
      .map((c) => [c.name, filesHash(c)!]),
  );

  test('nothing running: every stack is created', () => {
    assert.deepEqual(new Set(diffStacks(all, {}, {}).map((d) => d.action)), new Set(['create']));
  });

  test('everything running as rendered, files loaded: every stack kept', () => {
    const current = Object.fromEntries(all.map((s) => [s.name, running(s)]));
    assert.ok(diffStacks(all, current, loadedAll).every((d) => d.action === 'keep'));
  });

  test('a changed spec, a stopped container, changed files, a stray container, a stack no longer rendered', () => {
    const current = Object.fromEntries(all.map((s) => [s.name, running(s)]));
    const [proxy, ghost, ...rest] = all;
    current[ghost!.name] = current[ghost!.name]!.map((c, i) =>
      i === 0 ? { ...c, hash: 'old' } : { ...c, running: false },
    );
    current['abc123-ghost-fr'] = [{ name: 'ghost-abc123-fr', hash: 'x', running: true }];
    current[rest[0]!.name]!.push({ name: 'stray', hash: 'y', running: true });
    const d = diffStacks(all, current, { ...loadedAll, [proxy!.containers[0]!.name]: 'stale' });
    const by = Object.fromEntries(d.map((x) => [x.stack, x]));
    assert.equal(by[proxy!.name]!.action, 'change');
    assert.match(by[proxy!.name]!.details.join(), /reloads its changed files/);
    assert.equal(by[ghost!.name]!.action, 'change');
    assert.match(by[ghost!.name]!.details.join(), /replaced \(its spec changed\).*started \(stopped\)/);
    assert.match(by[rest[0]!.name]!.details.join(), /stray: removed/);
    assert.equal(by['abc123-ghost-fr']!.action, 'delete');
  });
});

describe('the stacks a restore stops', () => {
  test('one app of one site: every Ghost language of that domain, nothing of another site or app', () => {
    const a = appNames('example.com');
    const b = appNames('example.org');
    const all = [a.ghost('en').stack, a.ghost('es').stack, a.gitea.stack, b.ghost('en').stack, 'reverse-proxy'];
    assert.deepEqual(stacksOfApp('example.com', 'ghost', all), [a.ghost('en').stack, a.ghost('es').stack].sort());
    assert.deepEqual(stacksOfApp('example.com', 'gitea', all), [a.gitea.stack]);
    assert.deepEqual(stacksOfApp('example.org', 'ghost', all), [b.ghost('en').stack]);
    assert.deepEqual(stacksOfApp('example.com', 'letsencrypt', all), [], 'no stack runs the certificates');
  });
});
