import type { Duplex } from 'node:stream';
import type { Client } from 'ssh2';
import { runChecked } from './run';

/**
 * Talking to a service on the host through the SSH connection (direct-tcpip),
 * the way the host itself sees it: nothing is exposed, and no port on the
 * management machine is opened.
 */

/** The addresses something listens on for TCP `port` on the host ("127.0.0.1:80", "[::]:80"), from `ss`. */
export async function listeningAddresses(client: Client, port: number): Promise<string[]> {
  const r = await runChecked(client, ['ss', '-Hltn', `sport = :${port}`], { timeoutMs: 30_000 });
  return r.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[3])
    .filter((addr): addr is string => !!addr);
}

/** Where to connect for a listening address: a wildcard listener is reached on loopback. */
export function connectAddress(listener: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(listener);
  if (!m) throw new Error(`Not an address:port: ${listener}`);
  let host = m[1]!.replace(/%.*$/, '').replace(/^\[|\]$/g, '');
  if (host === '*' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::') host = '::1';
  return { host, port: Number(m[2]) };
}

export function openTunnel(client: Client, listener: string): Promise<Duplex> {
  const { host, port } = connectAddress(listener);
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}

export interface HttpAnswer {
  /** 0 when the server closed without an HTTP status line. */
  status: number;
  body: string;
}

/** One HTTP/1.0 GET with the given Host header; small answers only (challenge tokens, probes). */
export async function httpGetOverSsh(
  client: Client,
  listener: string,
  urlPath: string,
  hostHeader: string,
  timeoutMs = 15_000,
): Promise<HttpAnswer> {
  const stream = await openTunnel(client, listener);
  return new Promise((resolve, reject) => {
    let raw = '';
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new Error(`No answer from ${listener} within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on('data', (d: Buffer) => {
      if (raw.length < 65_536) raw += d.toString('latin1');
    });
    stream.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
    stream.on('close', () => {
      clearTimeout(timer);
      const status = Number(/^HTTP\/\d(?:\.\d)? (\d{3})/.exec(raw)?.[1] ?? 0);
      const split = raw.indexOf('\r\n\r\n');
      resolve({ status, body: split >= 0 ? raw.slice(split + 4) : '' });
    });
    stream.end(`GET ${urlPath} HTTP/1.0\r\nHost: ${hostHeader}\r\nUser-Agent: ssw\r\nConnection: close\r\n\r\n`);
  });
}
