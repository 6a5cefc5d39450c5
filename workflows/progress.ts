import { defineQuery, setHandler, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import type { OperationTarget } from '../common/temporal/operations';
import { operationSearchAttributes } from '../common/temporal/search-attributes';

/**
 * The progress every ssw workflow reports: a `progress` query the CLI polls
 * (live bar) and a memo the Web UI shows (memo is encrypted, so the UI shows
 * it through the codec endpoint). Steps run through `step()`, which also
 * works for steps running in parallel.
 */
export type StepState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface StepProgress {
  name: string;
  state: StepState;
  detail?: string;
  startedAt?: string;
  endedAt?: string;
}

export interface ProgressSnapshot {
  operation: string;
  target: OperationTarget;
  state: 'running' | 'done' | 'failed';
  steps: StepProgress[];
  /** Names of the steps running now (several when steps run in parallel). */
  current: string[];
  /** Share of steps finished (done or skipped), 0..100. */
  percent: number;
}

export const progressQuery = defineQuery<ProgressSnapshot>('progress');

export class Progress {
  private readonly steps: StepProgress[];
  private state: ProgressSnapshot['state'] = 'running';

  private constructor(
    private readonly operation: string,
    private readonly target: OperationTarget,
    stepNames: string[],
  ) {
    this.steps = stepNames.map((name) => ({ name, state: 'pending' }));
  }

  /**
   * Registers the query and tags the run with search attributes (they are
   * also set at start by the CLI; upserting here covers runs started by a
   * Schedule or by hand in the UI).
   */
  static start(operation: string, target: OperationTarget, stepNames: string[]): Progress {
    const progress = new Progress(operation, target, stepNames);
    setHandler(progressQuery, () => progress.snapshot());
    upsertSearchAttributes(operationSearchAttributes(operation, target));
    progress.publish();
    return progress;
  }

  /** Adds steps discovered while running (e.g. one per instance). */
  addSteps(names: string[]): void {
    for (const name of names) if (!this.find(name)) this.steps.push({ name, state: 'pending' });
    this.publish();
  }

  /** Runs `fn` as step `name`, recording its state; rethrows failures unchanged. */
  async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const step = this.find(name) ?? this.push(name);
    step.state = 'running';
    step.startedAt = new Date().toISOString(); // workflow task time: deterministic
    step.detail = undefined;
    this.publish();
    try {
      const result = await fn();
      step.state = 'done';
      return result;
    } catch (err) {
      step.state = 'failed';
      this.state = 'failed';
      throw err;
    } finally {
      step.endedAt = new Date().toISOString();
      this.publish();
    }
  }

  skip(name: string, reason: string): void {
    const step = this.find(name) ?? this.push(name);
    step.state = 'skipped';
    step.detail = reason;
    this.publish();
  }

  /** A line of detail for a step (e.g. "image 40% built"); shown by the CLI, not recorded in history. */
  detail(name: string, text: string): void {
    const step = this.find(name);
    if (step) step.detail = text;
  }

  /**
   * A line of detail that is also published in the memo (for the Web UI): for a long step's progress, e.g. a chain
   * sync's "block N of M". Each call is a memo upsert in history: call it every minute or so, not every second.
   */
  report(name: string, text: string): void {
    const step = this.find(name);
    if (!step) return;
    step.detail = text;
    this.publish(text);
  }

  finish(): void {
    this.state = 'done';
    this.publish();
  }

  snapshot(): ProgressSnapshot {
    const finished = this.steps.filter((s) => s.state === 'done' || s.state === 'skipped').length;
    return {
      operation: this.operation,
      target: this.target,
      state: this.state,
      steps: this.steps.map((s) => ({ ...s })),
      current: this.steps.filter((s) => s.state === 'running').map((s) => s.name),
      percent: this.steps.length === 0 ? 100 : Math.round((finished / this.steps.length) * 100),
    };
  }

  private find(name: string): StepProgress | undefined {
    return this.steps.find((s) => s.name === name);
  }

  private push(name: string): StepProgress {
    const step: StepProgress = { name, state: 'pending' };
    this.steps.push(step);
    return step;
  }

  /** The memo holds a one-line summary for the Web UI's list and detail views. */
  private publish(detail?: string): void {
    const s = this.snapshot();
    const done = s.steps.filter((x) => x.state === 'done' || x.state === 'skipped').length;
    upsertMemo({
      progress: `${done}/${s.steps.length} steps`,
      current: s.current.join(', ') || s.state,
      ...(detail !== undefined ? { detail } : {}),
    });
  }
}
