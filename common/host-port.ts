/**
 * `host:port`, an IPv6 address in brackets (`[::1]:22`): how ssw names a host
 * by address in workflow IDs, results and messages. Pure: workflows use it too.
 */
export function hostPort(t: { host: string; port: number }): string {
  return t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}
