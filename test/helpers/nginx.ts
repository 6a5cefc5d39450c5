import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { harness } from './harness';

/**
 * A real nginx on loopback standing in for a www host's reverse proxy: HTTP on
 * the port pebble validates http-01 on (serving the shared ACME webroot), and,
 * once a certificate exists, HTTPS with it. Started as a bare master process
 * (how ssw finds and reloads it), stopped by its own PID.
 */
export const HTTPS_PORT = 15443;

export class TestNginx {
  readonly dir: string;
  constructor(
    readonly dataPath: string,
    readonly domains: string[],
  ) {
    this.dir = path.join(dataPath, '..', 'nginx');
    fs.mkdirSync(this.dir, { recursive: true });
  }

  get pidFile(): string {
    return path.join(this.dir, 'nginx.pid');
  }
  get confFile(): string {
    return path.join(this.dir, 'nginx.conf');
  }

  /**
   * Writes the config: HTTP always, serving the ACME webroot unless `acme` is false
   * (a proxy someone forgot to configure); the HTTPS server when `tls`, for the domains that have a certificate.
   */
  writeConfig(tls: boolean, acme = true): void {
    const le = path.join(this.dataPath, 'letsencrypt');
    const servers = this.domains.map((d) => {
      const live = path.join(le, d, 'live', d);
      const names = `${d} *.${d}`;
      const https =
        tls && fs.existsSync(path.join(live, 'fullchain.pem'))
          ? `  server { listen 127.0.0.1:${HTTPS_PORT} ssl; server_name ${names}; ssl_certificate ${live}/fullchain.pem; ssl_certificate_key ${live}/privkey.pem; location / { return 200 "tls ${d}\\n"; } }\n`
          : '';
      return `  server { listen 127.0.0.1:${harness().acme.httpPort}; server_name ${names}; ${acme ? `location /.well-known/acme-challenge/ { root ${le}/_webroot; } ` : ''}location / { return 200 "http ${d}\\n"; } }\n${https}`;
    });
    fs.writeFileSync(
      this.confFile,
      `pid ${this.pidFile};\nerror_log ${this.dir}/error.log;\nworker_processes 1;\nevents {}\nhttp {\n  access_log off;\n${servers.join('')}}\n`,
    );
  }

  start(): void {
    this.writeConfig(false);
    execFileSync('nginx', ['-c', this.confFile]);
  }

  /** Graceful reload, as an operator does after changing the config. */
  reload(): void {
    execFileSync('nginx', ['-c', this.confFile, '-s', 'reload']);
  }

  pid(): number | undefined {
    try {
      return Number(fs.readFileSync(this.pidFile, 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  /** Stops the master this helper started (by its PID), and waits for it to be gone. */
  async stop(): Promise<void> {
    const pid = this.pid();
    if (!pid) return;
    try {
      process.kill(pid, 'SIGQUIT');
    } catch {
      return;
    }
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    process.kill(pid, 'SIGKILL');
  }
}

export interface ProbeStats {
  ok: number;
  failed: number;
  errors: string[];
  /** Serial numbers of the certificates seen over HTTPS, in order of first sight. */
  serials: string[];
}

/**
 * Requests the sites over HTTP and HTTPS back to back until stopped, as a
 * visitor's browser would, counting every failed request: the measure of
 * downtime during a renewal.
 */
export function startProbeLoop(domain: string, withTls: () => boolean): { stop: () => Promise<ProbeStats> } {
  const stats: ProbeStats = { ok: 0, failed: 0, errors: [], serials: [] };
  let running = true;
  const once = (tls: boolean) =>
    new Promise<void>((resolve) => {
      const done = (err?: string) => {
        if (err) {
          stats.failed++;
          if (stats.errors.length < 10) stats.errors.push(err);
        } else stats.ok++;
        resolve();
      };
      const opts = { host: '127.0.0.1', path: '/', headers: { Host: domain }, agent: false as const, timeout: 5000 };
      const req = tls
        ? https.get({ ...opts, port: HTTPS_PORT, servername: domain, rejectUnauthorized: false }, (res) => {
            const serial = (res.socket as import('node:tls').TLSSocket)
              .getPeerCertificate?.()
              .serialNumber?.toUpperCase();
            if (serial && !stats.serials.includes(serial)) stats.serials.push(serial);
            res.resume();
            res.on('end', () => done(res.statusCode === 200 ? undefined : `https ${res.statusCode}`));
          })
        : http.get({ ...opts, port: harness().acme.httpPort }, (res) => {
            res.resume();
            res.on('end', () => done(res.statusCode === 200 ? undefined : `http ${res.statusCode}`));
          });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => done(`${tls ? 'https' : 'http'} ${e.message}`));
    });
  const loop = (async () => {
    while (running) {
      await once(false);
      if (withTls()) await once(true);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return stats;
    },
  };
}
