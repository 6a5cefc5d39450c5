import { MultiBar, Presets } from 'cli-progress';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { ProgressSnapshot, StepProgress } from '../workflows/progress';
import type { CliIO } from './io';

const POLL_MS = 300;
const QUERY_DEADLINE_MS = 2000;

/**
 * Follows a running operation until it ends: polls the `progress` query and
 * renders a bar on a terminal, or one line per finished step otherwise
 * (kamal-style), then the total time. Returns the workflow's result; a
 * failure rejects with WorkflowFailedError for the error handler.
 */
export async function followWorkflow<T>(
  client: Client,
  handle: WorkflowHandle,
  io: CliIO,
  opts: { quiet: boolean; taskQueue: string },
): Promise<T> {
  const started = Date.now();
  const renderer = opts.quiet ? undefined : io.isTTY ? new BarRenderer() : new LineRenderer(io);
  let done = false;
  const resultPromise = handle.result().finally(() => (done = true));
  let warnedNoWorker = false;

  const poll = async () => {
    while (!done) {
      const snap = await queryProgress(client, handle);
      if (snap) renderer?.update(snap);
      else if (!warnedNoWorker && !done && !(await hasWorker(client, opts.taskQueue))) {
        warnedNoWorker = true;
        renderer?.log(
          `No worker is polling task queue "${opts.taskQueue}": the operation waits until one starts ("ssw worker" or "ssw dev").`,
        );
      }
      await Promise.race([resultPromise.catch(() => undefined), new Promise((r) => setTimeout(r, POLL_MS))]);
    }
  };
  const polling = poll();
  try {
    const result = (await resultPromise) as T;
    await polling;
    const final = await queryProgress(client, handle);
    if (final) renderer?.update(final);
    renderer?.stop();
    if (!opts.quiet) io.out(`Finished ${handle.workflowId} in ${seconds(Date.now() - started)}.`);
    return result;
  } catch (err) {
    await polling;
    // The closed run still answers the query (a worker replays it): show which step failed.
    const final = await queryProgress(client, handle);
    if (final) renderer?.update(final);
    renderer?.stop();
    throw err;
  }
}

/** The progress query needs a live worker; with none, answer undefined quickly instead of hanging. */
export async function queryProgress(client: Client, handle: WorkflowHandle): Promise<ProgressSnapshot | undefined> {
  try {
    return await client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
      handle.query<ProgressSnapshot>('progress'),
    );
  } catch {
    return undefined;
  }
}

export async function hasWorker(client: Client, taskQueue: string): Promise<boolean> {
  try {
    const res = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    return (res.pollers ?? []).length > 0;
  } catch {
    return true; // can't tell: don't cry wolf
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function stepDuration(s: StepProgress): string {
  if (!s.startedAt || !s.endedAt) return '';
  return ` (${seconds(Date.parse(s.endedAt) - Date.parse(s.startedAt))})`;
}

const MARK: Record<string, string> = { done: 'ok', failed: 'FAILED', skipped: 'skipped' };

interface Renderer {
  update(s: ProgressSnapshot): void;
  log(text: string): void;
  stop(): void;
}

/** One line per step as it finishes: readable in logs and CI. */
class LineRenderer implements Renderer {
  private readonly reported = new Set<string>();
  private readonly announced = new Set<string>();
  constructor(private readonly io: CliIO) {}
  update(s: ProgressSnapshot): void {
    for (const step of s.steps) {
      if (step.state === 'running' && !this.announced.has(step.name)) {
        this.announced.add(step.name);
        this.io.out(`  .. ${step.name}`);
      }
      if (
        (step.state === 'done' || step.state === 'failed' || step.state === 'skipped') &&
        !this.reported.has(step.name)
      ) {
        this.reported.add(step.name);
        const why = step.state === 'skipped' && step.detail ? `: ${step.detail}` : '';
        this.io.out(`  ${MARK[step.state]} ${step.name}${why}${stepDuration(step)}`);
      }
    }
  }
  log(text: string): void {
    this.io.out(text);
  }
  stop(): void {}
}

/** A live bar (cli-progress) with finished steps logged above it. */
class BarRenderer implements Renderer {
  private readonly multi = new MultiBar(
    { format: ' {bar} {percentage}% | {step}', hideCursor: true, clearOnComplete: true, stopOnComplete: false },
    Presets.shades_classic,
  );
  private readonly bar = this.multi.create(100, 0, { step: 'starting' });
  private readonly reported = new Set<string>();
  update(s: ProgressSnapshot): void {
    for (const step of s.steps) {
      if (
        (step.state === 'done' || step.state === 'failed' || step.state === 'skipped') &&
        !this.reported.has(step.name)
      ) {
        this.reported.add(step.name);
        this.multi.log(`  ${MARK[step.state]} ${step.name}${stepDuration(step)}\n`);
      }
    }
    const current = s.steps.filter((x) => x.state === 'running');
    const label = current.map((x) => (x.detail ? `${x.name}: ${x.detail}` : x.name)).join(' | ') || s.state;
    this.bar.update(s.percent, { step: label });
  }
  log(text: string): void {
    this.multi.log(text + '\n');
  }
  stop(): void {
    // Logged lines are only written on the next render: flush them before the bar goes.
    this.multi.update();
    this.multi.stop();
  }
}
