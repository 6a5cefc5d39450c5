import { ssw, type CliResult } from './cli';
import { backendUnderTest, harness, type HarnessDaemon } from './harness';

/** The flags every CLI call of a suite passes: its own `$SS_ROOT`, the harness Temporal, its own task queue. */
export function harnessCliArgs(root: string, taskQueue: string): string[] {
  return [
    '--ss-root',
    root,
    '--temporal-address',
    harness().temporal.address,
    '--namespace',
    harness().temporal.namespace,
    '--task-queue',
    taskQueue,
  ];
}

/**
 * `ssw remote add NAME` of the harness host that runs `daemon` (default: the backend under test), as root, on a
 * `dir` pool, its API moved to `apiPort` (a port of the suite's own). The backend is detected (`extra` may pass
 * `--backend`).
 */
export function addHarnessRemote(
  name: string,
  apiPort: number,
  common: string[],
  extra: string[] = [],
  daemon: HarnessDaemon = backendUnderTest(),
): CliResult {
  return ssw([
    'remote',
    'add',
    name,
    '127.0.0.1',
    '--ssh-port',
    String(daemon.sshPort),
    '--ssh-user',
    'root',
    '--ssh-key',
    harness().ssh.privateKeyPath,
    '--disk',
    'dir',
    '--api-port',
    String(apiPort),
    ...extra,
    ...common,
  ]);
}
