import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { COMPOSE_FILE, composeConfig, composeMtlsNginxConf, repoRoot } from '../helpers/compose';

/**
 * docker-compose.temporal.yml, checked through `docker-compose config` (the
 * rendering docker-compose itself would run): valid for docker-compose 1.29,
 * loopback-only ports, durable PostgreSQL, health checks, and no default password.
 * No Docker engine is needed: `config` only parses and interpolates.
 */

const DUMMY_PASSWORD = 'dummy-password-for-compose-test';
const TLS_DIR = '/etc/ssw/temporal-tls';
const root = repoRoot();
const composePath = path.join(root, COMPOSE_FILE);

type Service = Record<string, unknown>;
let rendered: { services: Record<string, Service>; volumes?: Record<string, unknown> } | undefined;

/** The rendered configuration with a dummy password (computed once). */
function config(): { services: Record<string, Service>; volumes?: Record<string, unknown> } {
  if (rendered) return rendered;
  const r = composeConfig({ TEMPORAL_DB_PASSWORD: DUMMY_PASSWORD, SSW_TEMPORAL_TLS_DIR: TLS_DIR });
  assert.equal(r.status, 0, `docker-compose config failed (exit ${r.status}):\n${r.stderr}`);
  const doc = YAML.parse(r.stdout) as { services?: Record<string, Service>; volumes?: Record<string, unknown> };
  assert.ok(doc && doc.services && Object.keys(doc.services).length > 0, `no services in:\n${r.stdout}`);
  rendered = { services: doc.services, volumes: doc.volumes };
  return rendered;
}

function service(name: string): Service {
  const s = config().services[name];
  assert.ok(s, `service ${name} is missing; services: ${Object.keys(config().services).join(', ')}`);
  return s;
}

/** Environment of a service as a map, whether rendered as a mapping or as a "K=V" list. */
function envOf(s: Service): Record<string, string> {
  const env = s.environment;
  if (!env) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((e: string) => {
        const i = e.indexOf('=');
        return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env as Record<string, unknown>).map(([k, v]) => [k, String(v ?? '')]));
}

interface PortBinding {
  hostIp: string | undefined;
  published: string | undefined;
  target: string;
  raw: string;
}

/** Parses a short-form port ("127.0.0.1:7233:7233/tcp", "7233:7233", "7233", "[::1]:1:1") or a long-form object. */
function parsePort(p: unknown): PortBinding {
  if (typeof p === 'number') return { hostIp: undefined, published: undefined, target: String(p), raw: String(p) };
  if (typeof p === 'string') {
    const raw = p;
    const spec = p.replace(/\/(tcp|udp|sctp)$/, '');
    let hostIp: string | undefined;
    let rest = spec;
    if (spec.startsWith('[')) {
      const end = spec.indexOf(']');
      hostIp = spec.slice(1, end);
      rest = spec.slice(end + 2);
      const [published, target] = rest.split(':');
      return { hostIp, published, target: target ?? published, raw };
    }
    const parts = rest.split(':');
    if (parts.length === 3) return { hostIp: parts[0], published: parts[1], target: parts[2], raw };
    if (parts.length === 2) return { hostIp: undefined, published: parts[0], target: parts[1], raw };
    return { hostIp: undefined, published: undefined, target: parts[0], raw };
  }
  if (p && typeof p === 'object') {
    const o = p as Record<string, unknown>;
    return {
      hostIp: o.host_ip === undefined ? undefined : String(o.host_ip),
      published: o.published === undefined ? undefined : String(o.published),
      target: String(o.target),
      raw: JSON.stringify(o),
    };
  }
  throw new Error(`unrecognised port entry ${JSON.stringify(p)}`);
}

test('parsePort reads short and long forms', () => {
  assert.deepEqual(parsePort('127.0.0.1:7233:7233/tcp'), {
    hostIp: '127.0.0.1',
    published: '7233',
    target: '7233',
    raw: '127.0.0.1:7233:7233/tcp',
  });
  assert.equal(parsePort('7233:7233').hostIp, undefined);
  assert.equal(parsePort('7233').hostIp, undefined);
  assert.equal(parsePort('0.0.0.0:1:1').hostIp, '0.0.0.0');
  assert.equal(parsePort('[::1]:8233:8080').hostIp, '::1');
  assert.equal(parsePort({ target: 8080, published: 8233, host_ip: '127.0.0.1' }).hostIp, '127.0.0.1');
  assert.equal(parsePort({ target: 8080, published: 8233 }).hostIp, undefined);
});

test('docker-compose config accepts the file (exit 0) with TEMPORAL_DB_PASSWORD set', () => {
  const names = Object.keys(config().services).sort();
  for (const expected of [
    'postgresql',
    'temporal',
    'temporal-schema',
    'temporal-namespace',
    'temporal-ui',
    'temporal-admin-tools',
  ]) {
    assert.ok(names.includes(expected), `service ${expected} missing; got ${names.join(', ')}`);
  }
});

test('every published port of every service is bound to 127.0.0.1 only', () => {
  const seen: string[] = [];
  for (const [name, s] of Object.entries(config().services)) {
    assert.notEqual(s.network_mode, 'host', `${name} uses network_mode: host, which bypasses port bindings`);
    for (const p of (s.ports as unknown[] | undefined) ?? []) {
      const b = parsePort(p);
      assert.ok(b.hostIp !== undefined, `${name}: port ${b.raw} has no host IP, so it binds 0.0.0.0`);
      assert.notEqual(b.hostIp, '0.0.0.0', `${name}: port ${b.raw} binds 0.0.0.0`);
      assert.equal(b.hostIp, '127.0.0.1', `${name}: port ${b.raw} must bind 127.0.0.1`);
      seen.push(`${name} ${b.hostIp}:${b.published}->${b.target}`);
    }
  }
  assert.ok(
    seen.includes('temporal-frontend-mtls 127.0.0.1:7233->7233'),
    `gRPC port not published on loopback: ${seen.join('; ')}`,
  );
  assert.ok(seen.includes('temporal-ui 127.0.0.1:8233->8080'), `UI port not published on loopback: ${seen.join('; ')}`);
});

test('postgresql keeps its data in a named volume', () => {
  const pg = service('postgresql');
  const volumes = (pg.volumes as unknown[] | undefined) ?? [];
  const data = volumes
    .map((v) =>
      typeof v === 'string'
        ? { source: v.split(':')[0], target: v.split(':')[1] }
        : {
            source: String((v as Record<string, unknown>).source),
            target: String((v as Record<string, unknown>).target),
          },
    )
    .find((v) => v.target === '/var/lib/postgresql/data');
  assert.ok(data, `postgresql has no volume on /var/lib/postgresql/data: ${JSON.stringify(volumes)}`);
  assert.ok(
    !data.source.startsWith('/') && !data.source.startsWith('.'),
    `expected a named volume, got ${data.source}`,
  );
  assert.ok(config().volumes && data.source in config().volumes!, `volume ${data.source} is not declared at top level`);
});

test('the UI decodes through the operator codec server (TEMPORAL_CODEC_ENDPOINT)', () => {
  assert.equal(envOf(service('temporal-ui')).TEMPORAL_CODEC_ENDPOINT, 'http://127.0.0.1:8888');
  const r = composeConfig({
    TEMPORAL_DB_PASSWORD: DUMMY_PASSWORD,
    SSW_TEMPORAL_TLS_DIR: TLS_DIR,
    SSW_CODEC_ENDPOINT: 'http://127.0.0.1:9999',
  });
  assert.equal(r.status, 0, r.stderr);
  const ui = (YAML.parse(r.stdout) as { services: Record<string, Service> }).services['temporal-ui'];
  assert.equal(envOf(ui).TEMPORAL_CODEC_ENDPOINT, 'http://127.0.0.1:9999');
});

test('the UI contacts nothing outside: no version check, no news feed', () => {
  const env = envOf(service('temporal-ui'));
  assert.equal(env.TEMPORAL_NOTIFY_ON_NEW_VERSION, 'false');
  assert.equal(env.TEMPORAL_DISABLE_NEWS_FETCH, 'true');
});

test('every long-running service has a health check and a restart policy; one-shots do not restart', () => {
  for (const [name, s] of Object.entries(config().services)) {
    const restart = s.restart as string | undefined;
    assert.ok(
      restart === 'unless-stopped' || restart === 'no',
      `${name}: restart must be "unless-stopped" or "no", got ${restart}`,
    );
    if (restart === 'no') continue; // one-shot: runs to completion once per `up`
    const hc = s.healthcheck as { test?: unknown; disable?: boolean } | undefined;
    assert.ok(hc && !hc.disable, `${name} is long-running but has no health check`);
    const t = hc.test;
    assert.ok(
      (Array.isArray(t) && t.length > 1 && t[0] !== 'NONE') || (typeof t === 'string' && t.length > 0),
      `${name}: empty health check ${JSON.stringify(t)}`,
    );
  }
});

test('startup order waits on health and on the schema one-shot, not on fixed sleeps', () => {
  const deps = (name: string) => service(name).depends_on as Record<string, { condition?: string }>;
  assert.equal(deps('temporal-schema').postgresql?.condition, 'service_healthy');
  assert.equal(deps('temporal').postgresql?.condition, 'service_healthy');
  assert.equal(deps('temporal')['temporal-schema']?.condition, 'service_completed_successfully');
  assert.equal(deps('temporal-namespace').temporal?.condition, 'service_healthy');
  assert.equal(deps('temporal-ui').temporal?.condition, 'service_healthy');
});

test('the namespace step registers the ssw Keyword search attributes', () => {
  const script = ((service('temporal-namespace').command as string[] | undefined) ?? []).join('\n');
  for (const name of ['SsRemote', 'SsDeployment', 'SsOperation', 'SsSite']) {
    assert.ok(script.includes(name), `namespace step does not create ${name}`);
  }
  assert.match(script, /search-attribute create/);
  assert.match(script, /--type Keyword/);
  assert.match(script, /already exists/i, 'namespace step must tolerate "already exists" (idempotent)');
  assert.equal(envOf(service('temporal-namespace')).SSW_NAMESPACE, 'default');
});

test('the server lifts the history task-queue poll limits that add up to 50 ms per workflow step', () => {
  const script = ((service('temporal').command as string[] | undefined) ?? []).join('\n');
  assert.match(script, /history\.%sProcessorMaxPollRPS/);
  assert.match(script, /for q in transfer timer visibility/);
  assert.match(script, /value: 1000/);
});

test('Temporal images are pinned, and server and admin-tools use the same version', () => {
  const images = Object.fromEntries(Object.entries(config().services).map(([n, s]) => [n, String(s.image)]));
  for (const [name, image] of Object.entries(images)) {
    const tag = image.includes(':') ? image.slice(image.lastIndexOf(':') + 1) : '';
    assert.ok(tag && tag !== 'latest', `${name}: image ${image} is not pinned to a version`);
    assert.ok(!image.startsWith('temporalio/auto-setup'), `${name}: temporalio/auto-setup is deprecated`);
  }
  const tagOf = (image: string) => image.slice(image.lastIndexOf(':') + 1);
  const serverTag = tagOf(images.temporal);
  assert.match(images.temporal, /^temporalio\/server:/);
  for (const name of ['temporal-schema', 'temporal-namespace', 'temporal-admin-tools']) {
    assert.match(images[name], /^temporalio\/admin-tools:/);
    assert.equal(tagOf(images[name]), serverTag, `${name} must run the same version as the server`);
  }
});

test('the database password only ever comes from TEMPORAL_DB_PASSWORD (no literal in the file)', () => {
  const raw = YAML.parse(fs.readFileSync(composePath, 'utf8')) as { services: Record<string, Service> };
  let checked = 0;
  for (const [name, s] of Object.entries(raw.services)) {
    for (const [key, value] of Object.entries(envOf(s))) {
      if (!/PASSWORD|PWD/.test(key)) continue;
      checked++;
      assert.match(
        value,
        /^\$\{TEMPORAL_DB_PASSWORD:\?[^}]+\}$/,
        `${name}.${key} must be \${TEMPORAL_DB_PASSWORD:?...}, got ${value}`,
      );
    }
  }
  assert.ok(checked >= 3, 'expected the password in postgresql, the schema step and the server');
  for (const [name, s] of Object.entries(config().services)) {
    for (const [key, value] of Object.entries(envOf(s))) {
      if (/PASSWORD|PWD/.test(key)) assert.equal(value, DUMMY_PASSWORD, `${name}.${key}`);
    }
  }
});

test('the Temporal server publishes no port: the host reaches it only through mutual TLS', () => {
  assert.equal(service('temporal').ports, undefined, 'the frontend has no authentication: it must not be published');
  const front = service('temporal-frontend-mtls');
  assert.deepEqual(
    ((front.ports as unknown[]) ?? []).map((p) => parsePort(p).raw.replace(/\/tcp$/, '')),
    ['127.0.0.1:7233:7233'],
  );
  assert.ok(
    ((front.volumes as unknown[]) ?? []).some(
      (v) => JSON.stringify(v).includes(TLS_DIR) && JSON.stringify(v).includes('/etc/ssw-tls'),
    ),
  );
  const conf = composeMtlsNginxConf();
  assert.match(conf, /^\s*ssl_verify_client on;$/m);
  assert.match(conf, /^\s*ssl_client_certificate \/etc\/ssw-tls\/ca\.pem;$/m);
  assert.match(conf, /^\s*grpc_pass grpc:\/\/temporal:7233;$/m);
  assert.equal(
    (service('temporal-frontend-mtls').depends_on as Record<string, { condition?: string }>).temporal?.condition,
    'service_healthy',
  );
});

test('docker-compose config fails without SSW_TEMPORAL_TLS_DIR and says so', () => {
  const r = composeConfig({ TEMPORAL_DB_PASSWORD: DUMMY_PASSWORD });
  assert.notEqual(r.status, 0, `config succeeded without the TLS directory:\n${r.stdout}`);
  assert.match(r.stderr, /SSW_TEMPORAL_TLS_DIR/);
});

test('docker-compose config fails without TEMPORAL_DB_PASSWORD and says so (no default password)', () => {
  const r = composeConfig({ SSW_TEMPORAL_TLS_DIR: TLS_DIR });
  assert.notEqual(r.status, 0, `config succeeded without a password:\n${r.stdout}`);
  assert.match(r.stderr, /TEMPORAL_DB_PASSWORD/, `error does not mention TEMPORAL_DB_PASSWORD:\n${r.stderr}`);
});
