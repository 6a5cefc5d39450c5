/**
 * duplicity's archive as backups and chains, read from its file names alone
 * (no passphrase needed): `duplicity-full.<T>.*` starts a chain at T,
 * `duplicity-inc.<A>.to.<B>.*` adds the increment from A to B. Pure.
 */
export interface BackupEntry {
  kind: 'full' | 'incremental';
  /** When this backup was taken (ISO 8601). */
  time: string;
  bytes: number;
  volumes: number;
}

export interface BackupChain {
  full: BackupEntry;
  incrementals: BackupEntry[];
}

const FULL = /^duplicity-full(?:-signatures)?\.(\d{8}T\d{6}Z)\.(manifest|vol\d+\.difftar|sigtar)(?:\.gpg)?$/;
const INC =
  /^duplicity-(?:inc|new-signatures)\.(\d{8}T\d{6}Z)\.to\.(\d{8}T\d{6}Z)\.(manifest|vol\d+\.difftar|sigtar)(?:\.gpg)?$/;

/** 20261122T211735Z -> 2026-11-22T21:17:35Z */
export function duplicityTimeToIso(t: string): string {
  return t.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z');
}

export function parseChains(files: Array<{ name: string; size: number }>): BackupChain[] {
  const entries = new Map<string, BackupEntry & { from?: string }>();
  const add = (key: string, kind: BackupEntry['kind'], time: string, part: string, size: number, from?: string) => {
    const e = entries.get(key) ?? {
      kind,
      time: duplicityTimeToIso(time),
      bytes: 0,
      volumes: 0,
      ...(from ? { from } : {}),
    };
    e.bytes += size;
    if (part.endsWith('difftar')) e.volumes++;
    entries.set(key, e);
  };
  for (const f of files) {
    const full = FULL.exec(f.name);
    if (full) {
      add(`full ${full[1]}`, 'full', full[1]!, full[2]!, f.size);
      continue;
    }
    const inc = INC.exec(f.name);
    if (inc) add(`inc ${inc[2]}`, 'incremental', inc[2]!, inc[3]!, f.size, duplicityTimeToIso(inc[1]!));
  }
  const all = [...entries.values()].sort((a, b) => a.time.localeCompare(b.time));
  const chains: BackupChain[] = [];
  for (const e of all) {
    if (e.kind === 'full') chains.push({ full: e, incrementals: [] });
    else if (chains.length > 0)
      chains[chains.length - 1]!.incrementals.push({ kind: e.kind, time: e.time, bytes: e.bytes, volumes: e.volumes });
  }
  for (const c of chains) delete (c.full as { from?: string }).from;
  return chains;
}
