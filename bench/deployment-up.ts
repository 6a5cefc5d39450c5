/**
 * Wall time of `ssw up` for two instances (www and btcpayserver, system containers
 * from the harness's debootstrap image), on the harness's LXD 5.0 and then on its Incus 6.0
 * in the same run (needs `bash test/harness/start.sh`):
 *   - parallel: `ssw up` from an empty deployment, instances brought up at once;
 *   - sequential: the same steps with --sequential, one instance after the other (as ss);
 *   - no-change: `ssw up` again on the deployment just built.
 * Each is the CLI's process time, start to exit. The weekly base image is built once
 * first (its time reported apart) and kept, so the runs compare instance work only;
 * between runs `ssw down --purge --yes` empties the deployment. Several rounds,
 * alternating the order. Writes bench/results/deployment-up.json.
 * Usage: npm run bench:up [-- ROUNDS]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SsPaths } from '../common/paths';
import { ssw, startService, stopService, sswAsync } from '../test/helpers/cli';
import { harness, type HarnessDaemon } from '../test/helpers/harness';
import { harnessLxd, resetHarnessLxd } from '../test/helpers/lxd';
import { addHarnessRemote, harnessCliArgs } from '../test/helpers/suite-args';

const REMOTE = 'bench';
const DEPLOYMENT = 'benchup';

async function timed(args: string[]): Promise<number> {
  const start = process.hrtime.bigint();
  const r = await sswAsync(args);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`ssw ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const h = harness();
  const backends: Record<string, unknown> = {};
  for (const daemon of [h.lxd, h.incus]) backends[daemon.backend] = await benchBackend(daemon, rounds);
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, memGb: Math.round(os.totalmem() / 2 ** 30) },
    what: 'ssw up, two system containers (www, btcpayserver) from the debootstrap test image, CLI process start to exit',
    rounds,
    backends,
  };
  const out = path.join(__dirname, '../../bench/results/deployment-up.json');
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
}

async function benchBackend(daemon: HarnessDaemon, rounds: number): Promise<Record<string, unknown>> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ssw-bench-up-'));
  const paths = new SsPaths(root);
  const common = harnessCliArgs(root, `bench-up-${daemon.backend}-${process.pid}`);
  const target = ['--deployment', DEPLOYMENT, '--remote', REMOTE];
  const lxd = harnessLxd(daemon);
  await resetHarnessLxd(lxd, paths, [DEPLOYMENT], daemon);
  const worker = await startService(['worker', ...common], /Worker polling/);
  try {
    const add = addHarnessRemote(REMOTE, daemon.backend === 'incus' ? 18747 : 18449, common, [], daemon);
    if (add.status !== 0) throw new Error(add.stderr);
    fs.writeFileSync(
      paths.remoteConf(REMOTE),
      `DEPLOYMENT_STRING="(${DEPLOYMENT}|regtest)"\nDATA_PLANE_NETWORK=${daemon.testBridge}\n`,
    );
    fs.mkdirSync(path.dirname(paths.projectConf(DEPLOYMENT)), { recursive: true });
    fs.writeFileSync(
      paths.projectConf(DEPLOYMENT),
      `PRIMARY_DOMAIN=bench.example\nINSTANCE_TYPE=container\nBASE_IMAGE=${daemon.baseImage}\nWWW_SERVER_MAC_ADDRESS=00:16:3e:5c:00:01\nBTCPAY_SERVER_MAC_ADDRESS=00:16:3e:5c:00:02\nWWW_SERVER_CPU_COUNT=1\nBTCPAY_SERVER_CPU_COUNT=1\n`,
    );
    ssw(['up', ...target, '--instances-only', '--plan', ...common]); // stubs site.conf

    // The weekly base image, once, timed apart.
    for (const a of await lxd.listImageAliases()) if (a.name.startsWith('ss-docker-')) await lxd.deleteImage(a.target);
    const firstMs = await timed(['up', ...target, '--instances-only', ...common]);
    await timed(['down', ...target, '--purge', '--yes', ...common]);

    const parallel: number[] = [];
    const sequential: number[] = [];
    const noChange: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ['parallel', 'sequential'] : ['sequential', 'parallel'];
      for (const mode of order) {
        const ms = await timed([
          'up',
          ...target,
          '--instances-only',
          ...(mode === 'sequential' ? ['--sequential'] : []),
          ...common,
        ]);
        (mode === 'parallel' ? parallel : sequential).push(ms);
        if (mode === 'parallel') noChange.push(await timed(['up', ...target, '--instances-only', ...common]));
        await timed(['down', ...target, '--purge', '--yes', ...common]);
      }
    }
    return {
      server: `${daemon.backend} ${(await lxd.server()).environment?.server_version ?? '?'}`,
      firstUpWithBaseImageMs: Math.round(firstMs),
      parallelMs: { median: Math.round(median(parallel)), runs: parallel.map(Math.round) },
      sequentialMs: { median: Math.round(median(sequential)), runs: sequential.map(Math.round) },
      noChangeMs: { median: Math.round(median(noChange)), runs: noChange.map(Math.round) },
    };
  } finally {
    await stopService(worker);
    await resetHarnessLxd(lxd, paths, [DEPLOYMENT], daemon);
    lxd.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
