import { type Backend, type BackendChoice, backendLabel } from '../../common/backend';

/**
 * What provisioning needs to know about a host, learned in one SSH round
 * trip by a fixed script. Inputs reach it only as positional parameters
 * ("$1", "$2"), never spliced into the script text.
 */

export interface HostFacts {
  uid: number;
  /** Passwordless sudo works (only asked when not root). */
  sudo: boolean;
  osId: string;
  osVersionId: string;
  lxd?: { path: string; version: string };
  incus?: { path: string; version: string };
  zfs: boolean;
  /** The disk argument: "dir" and "loop" always exist; a device must be a block device. */
  diskExists: boolean;
  /** The data-plane interface exists (true when none was asked for). */
  interfaceExists: boolean;
  /** The interface of the default route, ss's fallback for the data plane. */
  defaultInterface: string;
  /** The host's address on the SSH connection: the management plane, where the LXD API listens. */
  mgmtIp: string;
  /** The chosen backend's unix socket ($LXD_DIR/$INCUS_DIR first, then the snap and deb paths); empty if none. */
  socketPath: string;
  /** The SSH user can read and write the socket (root, or a member of its group). */
  socketAccess: boolean;
  /** The socket's group (lxd, incus-admin): membership grants a non-root user access. */
  socketGroup: string;
  /** Each backend's socket, when the host has one: which daemon the host runs. */
  sockets: Partial<Record<Backend, { path: string; group: string; access: boolean }>>;
  /** VERSION_CODENAME of /etc/os-release (bookworm, noble, ...). */
  osCodename: string;
  /** apt's candidate version of the `incus` package ("" when the host's sources have none). */
  incusCandidate: string;
  /** The host's apt sources include bookworm-backports (where Debian 12 has Incus). */
  bookwormBackports: boolean;
}

export const SUPPORTED_OS = ['debian', 'ubuntu'];

// Prints KEY=value lines; every probe tolerates absence (|| true) so one
// missing tool never hides the others. Both backends' sockets are probed, so
// the backend can be detected and a host that runs the other one is told apart.
export const INSPECT_SCRIPT = `
disk="$1"; iface="$2"
echo "uid=$(id -u)"
if [ "$(id -u)" != 0 ] && sudo -n true 2>/dev/null; then echo sudo=1; else echo sudo=0; fi
. /etc/os-release 2>/dev/null || true
echo "os_id=\${ID:-}"; echo "os_version_id=\${VERSION_ID:-}"; echo "os_codename=\${VERSION_CODENAME:-}"
for b in lxd incus; do
  p=$(command -v "$b" 2>/dev/null || true)
  [ -n "$p" ] && echo "\${b}_path=$p" && echo "\${b}_version=$("$p" --version 2>/dev/null | head -n1)"
done
command -v zfs >/dev/null 2>&1 && echo zfs=1 || echo zfs=0
case "$disk" in dir|loop) echo disk=1 ;; *) [ -b "$disk" ] && echo disk=1 || echo disk=0 ;; esac
if [ -z "$iface" ] || ip link show dev "$iface" >/dev/null 2>&1; then echo iface=1; else echo iface=0; fi
echo "default_iface=$(ip route show default 2>/dev/null | awk '{for (i=1;i<NF;i++) if ($i=="dev") {print $(i+1); exit}}')"
set -- $SSH_CONNECTION; echo "mgmt_ip=$3"
for b in lxd incus; do
  if [ "$b" = incus ]; then sockets="\${INCUS_DIR:+$INCUS_DIR/unix.socket} /var/lib/incus/unix.socket"
  else sockets="\${LXD_DIR:+$LXD_DIR/unix.socket} /var/snap/lxd/common/lxd/unix.socket /var/lib/lxd/unix.socket"; fi
  for s in $sockets; do
    if [ -S "$s" ]; then
      echo "\${b}_socket=$s"; echo "\${b}_socket_group=$(stat -c %G "$s" 2>/dev/null)"
      [ -r "$s" ] && [ -w "$s" ] && echo "\${b}_socket_access=1" || echo "\${b}_socket_access=0"
      break
    fi
  done
done
if command -v apt-cache >/dev/null 2>&1; then
  echo "incus_candidate=$(apt-cache policy incus 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" {print $2}')"
  apt-cache policy 2>/dev/null | grep -q 'bookworm-backports' && echo bookworm_backports=1
fi
true
`;

/** argv for the inspection: `sh -c SCRIPT sh DISK IFACE`. */
export function inspectArgv(disk: string, dataPlaneInterface: string | undefined): string[] {
  return ['sh', '-c', INSPECT_SCRIPT, 'sh', disk, dataPlaneInterface ?? ''];
}

/** The facts, with socketPath/socketAccess/socketGroup those of `backend`'s socket. */
export function parseFacts(stdout: string, backend: Backend = 'lxd'): HostFacts {
  const kv: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  const tool = (name: string) =>
    kv[`${name}_path`] ? { path: kv[`${name}_path`], version: kv[`${name}_version`] ?? '' } : undefined;
  const socket = (b: Backend) =>
    kv[`${b}_socket`]
      ? { path: kv[`${b}_socket`]!, group: kv[`${b}_socket_group`] ?? '', access: kv[`${b}_socket_access`] === '1' }
      : undefined;
  const sockets: HostFacts['sockets'] = {};
  for (const b of ['lxd', 'incus'] as const) {
    const found = socket(b);
    if (found) sockets[b] = found;
  }
  return factsFor(
    {
      uid: Number(kv.uid ?? NaN),
      sudo: kv.sudo === '1',
      osId: kv.os_id ?? '',
      osVersionId: kv.os_version_id ?? '',
      lxd: tool('lxd'),
      incus: tool('incus'),
      zfs: kv.zfs === '1',
      diskExists: kv.disk === '1',
      interfaceExists: kv.iface === '1',
      defaultInterface: kv.default_iface ?? '',
      mgmtIp: kv.mgmt_ip ?? '',
      socketPath: '',
      socketAccess: false,
      socketGroup: '',
      sockets,
      osCodename: kv.os_codename ?? '',
      incusCandidate: kv.incus_candidate ?? '',
      bookwormBackports: kv.bookworm_backports === '1',
    },
    backend,
  );
}

/** The facts seen through `backend`: its socket as socketPath/socketAccess/socketGroup. */
export function factsFor(facts: HostFacts, backend: Backend): HostFacts {
  const s = facts.sockets[backend];
  return { ...facts, socketPath: s?.path ?? '', socketAccess: s?.access ?? false, socketGroup: s?.group ?? '' };
}

/**
 * The backend to provision. Asked for explicitly: that one, unless the host
 * already runs the other (two managers on one host would fight over the
 * bridges and the API port). `auto`: the one the host runs, or the one it has
 * installed; on a bare host Incus, Sovereign Stack's own choice since 2023.
 * A host running both must be told which. Pure: each case unit-tested.
 */
export function chooseBackend(
  requested: BackendChoice,
  facts: Pick<HostFacts, 'sockets' | 'lxd' | 'incus'>,
  host: string,
): { backend: Backend; refusal?: undefined } | { backend?: undefined; refusal: string } {
  const running = (['lxd', 'incus'] as const).filter((b) => facts.sockets[b]);
  if (requested !== 'auto') {
    const other: Backend = requested === 'lxd' ? 'incus' : 'lxd';
    if (running.includes(other) && !running.includes(requested)) {
      return {
        refusal: `${host} already runs ${backendLabel(other)} (${facts.sockets[other]!.path}), not ${backendLabel(requested)}; ssw will not install a second container manager beside it. Pass --backend ${other}, or leave --backend out to use what the host runs.`,
      };
    }
    return { backend: requested };
  }
  if (running.length === 2) {
    return {
      refusal: `${host} runs both LXD (${facts.sockets.lxd!.path}) and Incus (${facts.sockets.incus!.path}); say which one ssw should use with --backend lxd or --backend incus.`,
    };
  }
  if (running.length === 1) return { backend: running[0]! };
  if (facts.incus && !facts.lxd) return { backend: 'incus' };
  if (facts.lxd && !facts.incus) return { backend: 'lxd' };
  return { backend: 'incus' };
}

/** Prefix for commands that need root: nothing as root, `sudo -n` (never prompts) otherwise. */
export function asRoot(facts: Pick<HostFacts, 'uid'>, argv: string[]): string[] {
  return facts.uid === 0 ? argv : ['sudo', '-n', ...argv];
}

/** The Debian packages a host lacks for the chosen backend and disk. */
export function missingPackages(facts: HostFacts, backend: 'lxd' | 'incus', disk: string): string[] {
  const pkgs: string[] = [];
  if (backend === 'lxd' && !facts.lxd) pkgs.push('lxd');
  if (backend === 'incus' && !facts.incus) pkgs.push('incus');
  if (disk !== 'dir' && !facts.zfs) pkgs.push('zfsutils-linux');
  return pkgs;
}

/** argv that installs `pkgs` without prompting (environment through env(1), not a shell). */
export function aptInstallArgv(facts: Pick<HostFacts, 'uid'>, pkgs: string[]): string[] {
  return asRoot(facts, [
    'env',
    'DEBIAN_FRONTEND=noninteractive',
    'apt-get',
    'install',
    '-y',
    '-q',
    '--no-install-recommends',
    ...pkgs,
  ]);
}

export function aptUpdateArgv(facts: Pick<HostFacts, 'uid'>): string[] {
  return asRoot(facts, ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'update', '-q']);
}

/** Why a host cannot be provisioned, or undefined when it can. Pure, so every refusal is unit-tested. */
export function refusalFor(
  facts: HostFacts,
  req: { disk: string; dataPlaneInterface?: string; backend: string },
  t: { user: string; host: string; port: number },
): { message: string; privileges: boolean } | undefined {
  const where = `${t.user}@${t.host}:${t.port}`;
  if (!SUPPORTED_OS.includes(facts.osId)) {
    const os = `${facts.osId || 'an unknown OS'} ${facts.osVersionId}`.trim();
    return { message: `${where} runs "${os}"; ssw provisions Debian and Ubuntu hosts only.`, privileges: false };
  }
  if (facts.uid !== 0 && !facts.sudo) {
    return {
      message: `${t.user} on ${t.host} is not root and has no passwordless sudo, which installing and configuring ${req.backend} needs. Use --ssh-user root, or allow sudo without a password for ${t.user}.`,
      privileges: true,
    };
  }
  if (!facts.diskExists) {
    return {
      message: `The disk ${req.disk} does not exist on ${t.host} (no such block device). Run "lsblk --paths" there and pass --disk with one it lists, or --disk loop.`,
      privileges: false,
    };
  }
  if (!facts.interfaceExists) {
    return {
      message: `The data-plane interface ${req.dataPlaneInterface} does not exist on ${t.host}. Run "ip link" there and pass --data-plane-interface with one it lists.`,
      privileges: false,
    };
  }
  if (!req.dataPlaneInterface && !facts.defaultInterface) {
    return {
      message: `${t.host} has no default route, so the data-plane interface cannot be guessed. Pass --data-plane-interface.`,
      privileges: false,
    };
  }
  if (req.backend === 'incus' && !facts.incus && !facts.incusCandidate) {
    const bookworm = facts.osId === 'debian' && facts.osCodename === 'bookworm';
    return {
      message: bookworm
        ? `Incus is not in ${t.host}'s package sources: Debian 12 has it in bookworm-backports, which this host's apt does not use. Add it there (as root: echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/bookworm-backports.list && apt-get update), then run again; or pass --backend lxd.`
        : `Incus is not in ${t.host}'s package sources (apt-cache policy incus shows no candidate). Add a source that has it (Debian 12: bookworm-backports; Ubuntu 24.04 and Debian 13 have it in their main archives), then run again; or pass --backend lxd.`,
      privileges: false,
    };
  }
  if (!facts.mgmtIp)
    return {
      message: `Could not learn ${t.host}'s address on the SSH connection (SSH_CONNECTION is empty).`,
      privileges: false,
    };
  return undefined;
}

/** argv that lets `user` use the backend's socket (group membership; effective from the next login). */
export function grantSocketArgv(facts: Pick<HostFacts, 'uid'>, group: string, user: string): string[] {
  return asRoot(facts, ['usermod', '-a', '-G', group, user]);
}

/**
 * The commands that install `pkgs`: on Ubuntu, LXD comes as a snap (its deb
 * is a transitional package that needs snapd anyway); everything else, and
 * Debian's lxd, through apt. (Incus on Debian 12 needs bookworm-backports
 * enabled; apt then says so if it is not.)
 */
export function installArgvs(
  facts: Pick<HostFacts, 'uid' | 'osId'> & Partial<Pick<HostFacts, 'osCodename' | 'bookwormBackports'>>,
  pkgs: string[],
): string[][] {
  const viaSnap: string[] = facts.osId === 'ubuntu' ? pkgs.filter((p) => p === 'lxd') : [];
  const viaApt = pkgs.filter((p) => !viaSnap.includes(p));
  const argvs: string[][] = [];
  // Debian 12's Incus (and the QEMU it needs) is in bookworm-backports, which apt only uses when asked.
  const fromBackports =
    viaApt.includes('incus') && facts.osCodename === 'bookworm' && facts.bookwormBackports
      ? ['-t', 'bookworm-backports']
      : [];
  if (viaApt.length) {
    const install = aptInstallArgv(facts, viaApt);
    const at = install.indexOf('--no-install-recommends');
    argvs.push(aptUpdateArgv(facts), [...install.slice(0, at), ...fromBackports, ...install.slice(at)]);
  }
  for (const snap of viaSnap) argvs.push(asRoot(facts, ['snap', 'install', snap]));
  return argvs;
}
