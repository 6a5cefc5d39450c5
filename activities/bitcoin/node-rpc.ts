import type { Client } from 'ssh2';
import { asRoot } from '../../common/hosts';
import { runChecked } from '../ssh';
import { openTunnel } from '../ssh/tunnel';

/**
 * The node's JSON-RPC, asked the way the btcpayserver instance itself would:
 * through the SSH connection (direct-tcpip) to the RPC port the node publishes
 * on the instance's loopback, authenticated with the node's cookie, read as
 * root from its datadir for each round (bitcoind writes a new one at every
 * start). Nothing is exposed; the cookie never leaves this process.
 */

export class RpcError extends Error {
  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
  }
}

/** -28: the node is up but still loading (block index, wallet, verifying): ask again. */
export function isWarmingUp(err: unknown): boolean {
  return err instanceof RpcError && err.code === -28;
}

/** The cookie `__cookie__:…`, or undefined while the node has not written one yet. */
export async function readCookie(
  client: Client,
  user: string,
  cookieFile: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const r = await runChecked(client, asRoot(user, ['sh', '-c', 'cat "$1" 2>/dev/null || true', 'sh', cookieFile]), {
    timeoutMs: 30_000,
    ...(signal ? { signal } : {}),
  });
  const cookie = r.stdout.trim();
  return cookie.includes(':') ? cookie : undefined;
}

export interface RpcTarget {
  client: Client;
  /** host:port as seen on the instance, e.g. 127.0.0.1:43782. */
  listener: string;
  cookie: string;
  timeoutMs?: number;
}

/** One JSON-RPC call (HTTP/1.0 POST, the connection closed after the answer). */
export async function rpc<T = unknown>(t: RpcTarget, method: string, params: unknown[] = []): Promise<T> {
  const body = JSON.stringify({ jsonrpc: '1.0', id: 'ssw', method, params });
  const stream = await openTunnel(t.client, t.listener);
  const raw = await new Promise<string>((resolve, reject) => {
    let data = '';
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new Error(`The node's RPC (${t.listener}) did not answer ${method} within ${t.timeoutMs ?? 30_000} ms`));
    }, t.timeoutMs ?? 30_000);
    stream.on('data', (d: Buffer) => {
      if (data.length < 8 * 1024 * 1024) data += d.toString('utf8');
    });
    stream.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
    stream.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    stream.end(
      `POST / HTTP/1.0\r\nHost: ${t.listener}\r\nAuthorization: Basic ${Buffer.from(t.cookie).toString('base64')}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  const status = Number(/^HTTP\/\d(?:\.\d)? (\d{3})/.exec(raw)?.[1] ?? 0);
  const split = raw.indexOf('\r\n\r\n');
  const text = split >= 0 ? raw.slice(split + 4) : '';
  if (status === 401) throw new RpcError(`The node's RPC refused the cookie (401) for ${method}`, 401);
  if (status === 0) throw new RpcError(`The node's RPC (${t.listener}) closed without answering ${method}`, undefined);
  let parsed: { result?: T; error?: { code?: number; message?: string } | null };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new RpcError(`The node's RPC answered ${method} with HTTP ${status} and no JSON`, undefined);
  }
  if (parsed.error) throw new RpcError(`${method}: ${parsed.error.message ?? 'error'}`, parsed.error.code);
  return parsed.result as T;
}
