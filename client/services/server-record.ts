import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SsPaths } from '../../common/paths';
import { DEFAULT_TEMPORAL_ADDRESS } from '../../common/temporal/defaults';

/**
 * What the embedded server (`ssw server start`, `ssw dev`) leaves under
 * $SS_ROOT/temporal so that other commands know where its Web UI is: the
 * UI port is a flag of that process, not something the frontend tells.
 */
export interface EmbeddedServerRecord {
  /** The frontend's host:port. */
  address: string;
  /** The Web UI's base URL; null when the server runs headless. */
  webUi: string | null;
}

export function serverRecordFile(paths: SsPaths): string {
  return path.join(paths.temporalDir, 'server.json');
}

export function writeServerRecord(paths: SsPaths, rec: EmbeddedServerRecord): void {
  fs.mkdirSync(paths.temporalDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(serverRecordFile(paths), JSON.stringify(rec, null, 2) + '\n', { mode: 0o600 });
}

export function readServerRecord(paths: SsPaths): EmbeddedServerRecord | undefined {
  try {
    const rec = JSON.parse(fs.readFileSync(serverRecordFile(paths), 'utf8')) as EmbeddedServerRecord;
    return typeof rec?.address === 'string' && (rec.webUi === null || typeof rec.webUi === 'string') ? rec : undefined;
  } catch {
    return undefined; // none, or unreadable: as if no embedded server had run
  }
}

/** The default Web UI of the default server (embedded or docker-compose): both put it on 8233. */
const DEFAULT_WEB_UI = 'http://127.0.0.1:8233';

/**
 * The Web UI of the Temporal at `address`: $SSW_UI_URL, else the embedded
 * server's own record when it runs there, else the default UI for the default
 * address. Undefined when ssw cannot know (a cluster elsewhere, a headless
 * server): a wrong link is worse than none.
 */
export function webUiBase(paths: SsPaths, address: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SSW_UI_URL) return env.SSW_UI_URL.replace(/\/+$/, '');
  const rec = readServerRecord(paths);
  if (rec && sameAddress(rec.address, address)) return rec.webUi?.replace(/\/+$/, '') ?? undefined;
  return sameAddress(address, DEFAULT_TEMPORAL_ADDRESS) ? DEFAULT_WEB_UI : undefined;
}

function sameAddress(a: string, b: string): boolean {
  const norm = (s: string) =>
    s
      .trim()
      .toLowerCase()
      .replace(/^localhost:/, '127.0.0.1:');
  return norm(a) === norm(b);
}
