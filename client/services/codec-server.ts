import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { loopbackPeerUid } from './loopback-peer';

/**
 * The codec endpoint the Temporal Web UI calls to show decoded payloads
 * (POST /encode, POST /decode, JSON `{payloads: [...]}` with base64 bytes).
 * It decrypts and encrypts with the payload key, so: it binds to loopback
 * only; it answers only connections opened by the key's owner (the user ssw
 * runs as), root, or users named with --codec-allow-user, by the socket's
 * owner in /proc/net/tcp (see ./loopback-peer), since other users of the
 * machine could otherwise read every history, or make inputs the worker
 * would take for ssw's; and it answers CORS only for the UI origins given.
 */
export interface CodecServerOptions {
  codec: PayloadCodec;
  port?: number; // @default 8888
  host?: string; // @default 127.0.0.1
  allowedOrigins: string[];
  /**
   * The uids whose connections are served.
   * @default the uid this process runs as, and 0
   */
  allowedUids?: number[];
  /** Where the socket tables are (tests). @default /proc/net */
  procNet?: string;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const MAX_BODY = 8 * 1024 * 1024;

function fromJson(p: JsonPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: p.data !== undefined ? Buffer.from(p.data, 'base64') : undefined,
  };
}

function toJson(p: Payload): JsonPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
    ),
    data: p.data ? Buffer.from(p.data).toString('base64') : undefined,
  };
}

export function createCodecServer(o: CodecServerOptions): http.Server {
  const allowedUids = new Set(o.allowedUids ?? [process.getuid?.() ?? 0, 0]);
  const server = http.createServer((req, res) => {
    const origin = req.headers.origin;
    const uid = loopbackPeerUid(req.socket.localPort ?? 0, req.socket.remotePort ?? 0, o.procNet);
    if (uid === undefined || !allowedUids.has(uid)) {
      res
        .writeHead(403, { 'Content-Type': 'text/plain' })
        .end(
          `forbidden: connections from uid ${uid ?? 'unknown'} are not served (only ${[...allowedUids].join(', ')}; see --codec-allow-user)\n`,
        );
      return;
    }
    // DNS rebinding: a web page whose name resolves to 127.0.0.1 reaches this port
    // with its own name in Host. Only loopback names are ours.
    const port = (server.address() as AddressInfo | null)?.port;
    const host = req.headers.host ?? '';
    if (!port || ![`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('forbidden host\n');
      return;
    }
    // Browsers send Origin on cross-origin requests: only the Web UI's may use the codec.
    if (origin && !o.allowedOrigins.includes(origin)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('forbidden origin\n');
      return;
    }
    if (origin && o.allowedOrigins.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(origin ? 204 : 403).end();
      return;
    }
    const route = req.url?.split('?')[0];
    if (req.method !== 'POST' || (route !== '/encode' && route !== '/decode')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('POST /encode or /decode\n');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', async () => {
      if (res.writableEnded) return;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { payloads?: JsonPayload[] };
        if (!Array.isArray(body.payloads)) throw new Error('body must be {"payloads": [...]}');
        const input = body.payloads.map(fromJson);
        const output = route === '/encode' ? await o.codec.encode(input) : await o.codec.decode(input);
        res
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ payloads: output.map(toJson) }));
      } catch (err) {
        // The message never holds payload contents: only parse or key-id errors.
        res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`${(err as Error).message}\n`);
      }
    });
  });
  return server;
}

export async function listenCodecServer(
  server: http.Server,
  o: Pick<CodecServerOptions, 'host' | 'port'>,
): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8888, o.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return `http://${addr.address}:${addr.port}`;
}

/** The Web UI's origins for a UI on `uiPort`, as browsers send them. */
export function uiOrigins(uiPort: number): string[] {
  return [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`];
}
