import { execFileSync } from 'node:child_process';
import * as net from 'node:net';

/**
 * A loopback TCP relay in front of a real server (the harness sshd), so a
 * test can break a live connection the two ways networks break:
 * `freeze()` is a cut network (no FIN, no data, in either direction: only
 * keepalives and stall limits notice), `sever()` a dropped one (both sides
 * see the connection close). Traffic stays on 127.0.0.1.
 */
export class TcpRelay {
  private readonly pairs: Array<{ client: net.Socket; upstream: net.Socket; frozen: boolean }> = [];

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpRelay> {
    // The relay exists once the server listens; connections arrive only after that.
    const made: { relay?: TcpRelay } = {};
    const server = net.createServer((client) => {
      const upstream = net.connect(targetPort, targetHost);
      const pair = { client, upstream, frozen: false };
      made.relay!.pairs.push(pair);
      const forward = (from: net.Socket, to: net.Socket) =>
        from.on('data', (d) => {
          if (!pair.frozen) to.write(d);
        });
      forward(client, upstream);
      forward(upstream, client);
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    made.relay = new TcpRelay(server, (server.address() as net.AddressInfo).port);
    return made.relay;
  }

  /** The local ports of the relay's connections to the server: what the server sees as its peers. */
  upstreamPorts(): number[] {
    return this.pairs.filter((p) => !p.upstream.destroyed).map((p) => p.upstream.localPort!);
  }

  /**
   * Nothing passes on the open connections any more, and nothing is closed: a network cut. New connections pass (the
   * network came back).
   */
  freeze(): void {
    for (const p of this.pairs) {
      p.frozen = true;
      p.client.pause();
      p.upstream.pause();
    }
  }

  /** Both sides of every connection are closed at once. */
  sever(): void {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
  }

  async close(): Promise<void> {
    this.sever();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * The PIDs of the processes holding the server side of the TCP connection
 * from `peerPort` to local port `serverPort` (for sshd: the processes serving
 * that one client), from `ss -tnpH`.
 */
export function serverPidsFor(serverPort: number, peerPort: number): number[] {
  const out = execFileSync(
    'ss',
    ['-tnpH', 'state', 'established', `( sport = :${serverPort} and dport = :${peerPort} )`],
    { encoding: 'utf8' },
  );
  return [...new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
}
