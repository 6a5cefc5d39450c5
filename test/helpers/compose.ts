import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';

/**
 * docker-compose.temporal.yml as `docker-compose config` renders it (the
 * interpolation compose itself runs; no Docker engine needed), for the tests
 * that check the file and the one that runs its mTLS front with a real nginx.
 */
export const COMPOSE_FILE = 'docker-compose.temporal.yml';

export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, COMPOSE_FILE))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`${COMPOSE_FILE} not found in any parent of ${__dirname}`);
    dir = parent;
  }
}

export interface ComposeResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `docker-compose -f docker-compose.temporal.yml config` with only `env` of compose's variables set. */
export function composeConfig(env: Record<string, string>): ComposeResult {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-compose-'));
  const emptyEnvFile = path.join(tmp, 'empty.env'); // so an operator's .env beside the file cannot change the result
  fs.writeFileSync(emptyEnvFile, '');
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(TEMPORAL_|SSW_|POSTGRES_|COMPOSE_|NGINX_)/.test(k)) clean[k] = v;
  try {
    const stdout = execFileSync(
      'docker-compose',
      ['-f', path.join(repoRoot(), COMPOSE_FILE), '--env-file', emptyEnvFile, 'config'],
      {
        cwd: repoRoot(),
        env: { ...clean, ...env },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 60_000,
      },
    );
    return { status: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { status?: number | null; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error('docker-compose is not installed (not on PATH): run test/harness/install.sh, which installs it.');
    return { status: e.status ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The nginx config temporal-frontend-mtls writes and runs, as rendered. */
export function composeMtlsNginxConf(): string {
  const r = composeConfig({ TEMPORAL_DB_PASSWORD: 'dummy', SSW_TEMPORAL_TLS_DIR: '/nonexistent' });
  if (r.status !== 0) throw new Error(`docker-compose config failed: ${r.stderr}`);
  const svc = (YAML.parse(r.stdout) as { services: Record<string, { command?: string[] }> }).services[
    'temporal-frontend-mtls'
  ];
  const script = (svc?.command ?? []).join('\n');
  const m = /<<'NGINX'\n([\s\S]*?)\nNGINX\n/.exec(script);
  if (!m) throw new Error(`no nginx config in temporal-frontend-mtls's command:\n${script}`);
  return m[1]!;
}
