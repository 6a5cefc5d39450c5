import * as fs from 'node:fs';

/**
 * Which local user opened a loopback TCP connection. Linux lists every TCP
 * socket with its owner's uid in /proc/net/tcp (and tcp6); the client's end
 * of a connection to us is the entry whose local port is the connection's
 * remote port and whose remote port is ours. This is how a loopback service
 * tells the operator's own processes (and browser) from other users of the
 * machine without a password or token that the Web UI would have to carry.
 */
export function loopbackPeerUid(serverPort: number, clientPort: number, procNet = '/proc/net'): number | undefined {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
  const wantLocal = `:${hex(clientPort)}`;
  const wantRemote = `:${hex(serverPort)}`;
  for (const file of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(`${procNet}/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 8) continue;
      const [, local, remote, , , , , uid] = f;
      if (local!.endsWith(wantLocal) && remote!.endsWith(wantRemote) && isLoopback(local!) && isLoopback(remote!))
        return Number(uid);
    }
  }
  return undefined;
}

/** 127.0.0.0/8 (little-endian hex in /proc: "..7F"), ::1, or ::ffff:127.x.x.x. */
function isLoopback(addrPort: string): boolean {
  const addr = addrPort.slice(0, addrPort.indexOf(':'));
  if (addr.length === 8) return addr.endsWith('7F');
  return (
    addr === '00000000000000000000000001000000' || (addr.startsWith('0000000000000000FFFF0000') && addr.endsWith('7F'))
  );
}
