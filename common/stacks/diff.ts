import { containerHash, filesHash, type StackSpec } from './spec';

/**
 * What `ssw up` would do to the www instance's stacks: the rendered specs
 * compared with the containers the engine runs (their config-hash labels)
 * and the files each has loaded. Pure: unit-tested.
 */

export interface RunningContainer {
  name: string;
  hash: string;
  running: boolean;
}

export interface StackDiff {
  stack: string;
  action: 'create' | 'change' | 'keep' | 'delete';
  details: string[];
}

export function diffStacks(
  rendered: StackSpec[],
  current: Record<string, RunningContainer[]>,
  loaded: Record<string, string>,
): StackDiff[] {
  const out: StackDiff[] = [];
  for (const spec of rendered) {
    const have = current[spec.name] ?? [];
    if (have.length === 0) {
      out.push({ stack: spec.name, action: 'create', details: [] });
      continue;
    }
    const details: string[] = [];
    for (const c of spec.containers) {
      const h = have.find((x) => x.name === c.name);
      const files = filesHash(c);
      if (!h) details.push(`${c.name}: missing`);
      else if (h.hash !== containerHash(c)) details.push(`${c.name}: replaced (its spec changed)`);
      else if (!h.running) details.push(`${c.name}: started (stopped)`);
      else if (files !== undefined && loaded[c.name] !== files) details.push(`${c.name}: reloads its changed files`);
    }
    for (const x of have.filter((h) => !spec.containers.some((c) => c.name === h.name)))
      details.push(`${x.name}: removed (not in the spec)`);
    out.push({ stack: spec.name, action: details.length ? 'change' : 'keep', details });
  }
  for (const [stack, containers] of Object.entries(current)) {
    if (rendered.some((s) => s.name === stack)) continue;
    out.push({
      stack,
      action: 'delete',
      details: [`its site or app is no longer in the config: ${containers.map((c) => c.name).join(', ')}`],
    });
  }
  return out;
}
