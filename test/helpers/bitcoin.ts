import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { harness } from './harness';
import { waitFor } from './temporal';

/** A regtest P2PKH address: where the miner's coinbases go (nobody spends them). */
export const REGTEST_MINING_ADDR = 'mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn';

/** A btcd running on this host through the harness's ssw-bitcoind wrapper (regtest). */
export interface BitcoinNode {
  pid: number;
  dir: string;
  rpcPort: number;
  /** JSON-RPC over HTTP with the cookie the wrapper wrote at this start; throws on an RPC error. */
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  /** btcd's `generate` (regtest): mines n blocks to the mining address, returns their hashes. */
  generate(n: number): Promise<string[]>;
  height(): Promise<number>;
  /** SIGTERM by PID, then waits for the process to exit (SIGKILL after 30 s). */
  stop(): Promise<void>;
}

export interface NodeOptions {
  /** The node's DATA_DIR (the wrapper's /data). */
  dir: string;
  /** P2P listener, IP:PORT (the wrapper's bind=). */
  listen: string;
  rpcPort: number;
  /** More bitcoin.conf lines for BITCOIN_EXTRA_ARGS, e.g. `connect=127.0.0.1:18444`. */
  extraArgs?: string[];
  /** Interface the RPC listens on; 127.0.0.1 unless a container must reach it. */
  rpcIp?: string;
  miningAddr?: string;
  timeoutMs?: number;
}

/** The regtest chain's directory of a node's DATA_DIR (where .cookie, blocks/ and chainstate are). */
export function chainDirOf(dir: string): string {
  return path.join(dir, 'regtest');
}

/** A miner: a node whose `generate` pays REGTEST_MINING_ADDR. */
export function startMiner(o: Omit<NodeOptions, 'miningAddr'>): Promise<BitcoinNode> {
  return startNode({ ...o, miningAddr: REGTEST_MINING_ADDR });
}

/** Starts the wrapper (it execs btcd, so the child's PID is btcd's) and waits until its RPC answers. */
export async function startNode(o: NodeOptions): Promise<BitcoinNode> {
  fs.mkdirSync(o.dir, { recursive: true });
  const logFd = fs.openSync(path.join(o.dir, 'node.log'), 'a');
  const extra = [`rpcport=${o.rpcPort}`, `bind=${o.listen}`, ...(o.extraArgs ?? [])];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BITCOIN_NETWORK: 'regtest',
    BITCOIN_EXTRA_ARGS: extra.join('\n'),
    DATA_DIR: o.dir,
    RPC_LISTEN_IP: o.rpcIp ?? '127.0.0.1',
  };
  if (o.miningAddr) env.MINING_ADDR = o.miningAddr;
  const child: ChildProcess = spawn(harness().bitcoin.wrapper, [], { env, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${harness().bitcoin.wrapper}`);
  const node: BitcoinNode = {
    pid,
    dir: o.dir,
    rpcPort: o.rpcPort,
    rpc: (method, params) => rpcCall(o.dir, o.rpcPort, method, params ?? []),
    generate: (n) => node.rpc<string[]>('generate', [n]),
    height: () => node.rpc<number>('getblockcount'),
    async stop() {
      if (exited) return;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // It exited since the check: the 'exit' event is on its way.
      }
      const timer = setTimeout(() => !exited && process.kill(pid, 'SIGKILL'), 30_000);
      await exit;
      clearTimeout(timer);
    },
  };
  try {
    await waitFor(
      `btcd in ${o.dir} to answer RPC on 127.0.0.1:${o.rpcPort}`,
      async () => {
        if (exited) throw new Error(`btcd in ${o.dir} exited:\n${tail(path.join(o.dir, 'node.log'))}`);
        return node.height().then(
          () => true,
          () => false,
        );
      },
      o.timeoutMs ?? 30_000,
      50,
    );
  } catch (e) {
    await node.stop();
    throw e;
  }
  return node;
}

/** bitcoind-style JSON-RPC 1.0 with the cookie in the chain directory, read afresh (each start has its own). */
export async function rpcCall<T>(
  dir: string,
  port: number,
  method: string,
  params: unknown[],
  host = '127.0.0.1',
): Promise<T> {
  const cookie = fs.readFileSync(path.join(chainDirOf(dir), '.cookie'), 'utf8').trim();
  const res = await fetch(`http://${host}:${port}/`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(cookie).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '1.0', id: method, method, params }),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  let body: { result?: T; error?: { code: number; message: string } | null };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`${method}: HTTP ${res.status} ${text.slice(0, 200)}`);
  }
  if (body.error) throw new Error(`${method}: ${body.error.message} (code ${body.error.code})`);
  return body.result as T;
}

/** A TCP port free on 127.0.0.1 right now (the kernel's pick). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}
