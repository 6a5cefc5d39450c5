/**
 * The two container/VM managers ssw drives: LXD (Canonical) and Incus, its
 * community fork, which Sovereign Stack uses since 2023. Both speak the same
 * `/1.0` REST API; what differs between them (names ss gives their bridges,
 * the socket's group, how the trust token is posted, cloud-init keys) has its
 * one home here or, for the API, in activities/lxd/client.ts.
 */
export type Backend = 'lxd' | 'incus';
export const BACKENDS: readonly Backend[] = ['lxd', 'incus'];

/** What the operator asks for: one of the two, or `auto` (detected on the host). */
export type BackendChoice = Backend | 'auto';

/**
 * The bridges ss-remote creates: on LXD `lxdbr0` (NAT, its description
 * "ss-config,IFACE" names the data-plane interface) and `lxdbr1` (the OVN
 * uplink); on Incus the same two as `incusbr0` and `incusbr1` (the incus
 * branch's `remote.sh` and `up.sh`).
 */
export function ssBridges(backend: Backend): { nat: string; ovn: string } {
  return backend === 'incus' ? { nat: 'incusbr0', ovn: 'incusbr1' } : { nat: 'lxdbr0', ovn: 'lxdbr1' };
}

/** How the backend is named in messages. */
export function backendLabel(backend: Backend): string {
  return backend === 'incus' ? 'Incus' : 'LXD';
}
