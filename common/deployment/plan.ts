import { MANAGED_KEY, type DesiredDeployment, type InstanceRole } from './desired';

/**
 * What exists of a deployment on its remote (read through the LXD API), and
 * the plan that takes it to what the config wants: every object marked
 * create, change, keep or delete. `ssw up --plan` and `ssw show` print it;
 * `ssw up` applies exactly it. Pure: unit-tested without a remote.
 */

export interface CurrentDeployment {
  project?: { config: Record<string, string> };
  network?: { name: string; type: string; config: Record<string, string>; usedBy: string[] };
  /**
   * `builderLeft`: the image's builder instance is still there (a build that stopped between publishing and deleting
   * it).
   */
  baseImage?: { alias: string; fingerprint: string; builderLeft?: boolean };
  /** Profiles of the deployment's project ("default" left out). */
  profiles: Record<
    string,
    { description: string; config: Record<string, string>; devices: Record<string, Record<string, string>> }
  >;
  /** Custom volumes of the deployment's project in the ss-base pool; size in bytes when set. */
  volumes: Record<string, { contentType: string; sizeBytes?: number; usedBy: string[] }>;
  instances: Record<string, { type: string; status: string; profiles: string[] }>;
}

export type PlanAction = 'create' | 'change' | 'keep' | 'delete';
/** `stack`: the Docker services on the www instance (read from its engine). */
export type PlanKind = 'project' | 'network' | 'image' | 'profile' | 'volume' | 'instance' | 'stack';

export interface PlanItem {
  kind: PlanKind;
  name: string;
  action: PlanAction;
  /** The instance role it belongs to (profiles, volumes, instances). */
  role?: InstanceRole;
  /** What differs, one short line each (changes), or why it is kept or deleted. */
  details: string[];
  /** A stack whose instance's Docker engine could not be read: its state is unknown (the detail says why). */
  unread?: boolean;
}

export interface DeploymentPlan {
  items: PlanItem[];
  /** Nothing to create, change or delete. */
  empty: boolean;
  /** Problems no apply can fix (a volume of the wrong kind, an instance of another type): `up` refuses to start. */
  conflicts: string[];
}

const GB = 1_000_000_000;

/** LXD sizes as bytes ("20GB", "40GiB", "1000000"); undefined for unset or unreadable. */
export function parseLxdSize(size: string | undefined): number | undefined {
  if (!size) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([kKMGTPE]i?B?|B)?$/.exec(size.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 'B';
  const pow = 'BKMGTPE'.indexOf(unit[0]!.toUpperCase());
  const base = unit.includes('i') ? 1024 : 1000;
  return Math.round(n * base ** Math.max(0, pow));
}

function diffMap(
  label: string,
  want: Record<string, string>,
  have: Record<string, string>,
  ignore: (k: string) => boolean = () => false,
): string[] {
  const out: string[] = [];
  for (const k of Object.keys(want).sort()) {
    if (ignore(k)) continue;
    if (have[k] !== want[k]) out.push(have[k] === undefined ? `${label}${k}: set` : `${label}${k}: changed`);
  }
  for (const k of Object.keys(have).sort()) {
    if (ignore(k) || k.startsWith('volatile.')) continue;
    if (!(k in want)) out.push(`${label}${k}: removed`);
  }
  return out;
}

function diffDevices(
  want: Record<string, Record<string, string>>,
  have: Record<string, Record<string, string>>,
): string[] {
  const out: string[] = [];
  for (const name of Object.keys(want).sort()) {
    const h = have[name];
    if (!h) out.push(`device ${name}: added`);
    else if (diffMap('', want[name]!, h).length) out.push(`device ${name}: ${diffMap('', want[name]!, h).join(', ')}`);
  }
  for (const name of Object.keys(have).sort()) if (!(name in want)) out.push(`device ${name}: removed`);
  return out;
}

export function planDeployment(desired: DesiredDeployment, current: CurrentDeployment): DeploymentPlan {
  const items: PlanItem[] = [];
  const conflicts: string[] = [];
  const add = (kind: PlanKind, name: string, action: PlanAction, details: string[] = [], role?: InstanceRole) =>
    items.push({ kind, name, action, details, ...(role ? { role } : {}) });

  // Project.
  if (!current.project) add('project', desired.project.name, 'create');
  else {
    const d = diffMap(
      '',
      desired.project.config,
      current.project.config,
      // Only the features ssw sets: Incus adds its own to every project (features.storage.buckets follows
      // features.storage.volumes; features.networks.zones), and those are the server's business.
      (k) => (!k.startsWith('features.') && k !== MANAGED_KEY) || !(k in desired.project.config),
    );
    add('project', desired.project.name, d.length ? 'change' : 'keep', d);
    // LXD cannot change a project's features while it holds anything; say so up front.
    if (
      d.some((x) => x.startsWith('features.')) &&
      (Object.keys(current.instances).length || Object.keys(current.volumes).length)
    ) {
      conflicts.push(
        `project ${desired.project.name} has different features (${d.join('; ')}) and is not empty; LXD cannot change that. Move its contents or use another deployment name.`,
      );
    }
  }

  // Network.
  const n = desired.network;
  if (!current.network)
    add('network', n.name, 'create', [
      n.type === 'bridge' ? `bridge ${n.config['ipv4.address']}` : `ovn on ${n.config.network}`,
    ]);
  else if (current.network.type !== n.type) {
    conflicts.push(
      `network ${n.name} exists as ${current.network.type}, but this deployment needs ${n.type}; remove it (lxc network delete ${n.name}) or rename it.`,
    );
    add('network', n.name, 'keep', [`is ${current.network.type}, wanted ${n.type}`]);
  } else {
    // The subnet of an existing bridge stays what it is: instances hold leases in it.
    const d = diffMap('', n.config, current.network.config, (k) => k === 'ipv4.address' || !(k in n.config));
    add('network', n.name, d.length ? 'change' : 'keep', d);
  }

  // Base image.
  // A builder left behind is finished by the image step (it deletes it), not kept for ever.
  if (current.baseImage?.builderLeft)
    add('image', desired.baseImage.alias, 'change', ['delete the builder instance an interrupted build left']);
  else if (current.baseImage)
    add('image', desired.baseImage.alias, 'keep', [`fingerprint ${current.baseImage.fingerprint.slice(0, 12)}`]);
  else if (desired.instances.some((i) => !current.instances[i.name]))
    add('image', desired.baseImage.alias, 'create', [`from ${desired.baseImage.source}`]);
  else add('image', desired.baseImage.alias, 'keep', ['not built: every instance exists already']);

  // Per instance: profile, volumes, instance.
  const wantedProfiles = new Set<string>();
  const wantedVolumes = new Set<string>();
  for (const i of desired.instances) {
    wantedProfiles.add(i.name);
    const prof = current.profiles[i.name];
    if (!prof) add('profile', i.name, 'create', [], i.role);
    else {
      const d = [...diffMap('', i.profile.config, prof.config), ...diffDevices(i.profile.devices, prof.devices)];
      if (prof.description !== i.profile.description) d.push('description: changed');
      add('profile', i.name, d.length ? 'change' : 'keep', d, i.role);
    }
    for (const v of i.volumes) {
      wantedVolumes.add(v.name);
      const have = current.volumes[v.name];
      const want = `${v.sizeGb}GB`;
      if (!have) {
        add('volume', v.name, 'create', [`${v.contentType}, ${want}`], i.role);
        continue;
      }
      if (have.contentType !== v.contentType) {
        conflicts.push(
          `volume ${v.name} is ${have.contentType} but ${i.name} (${i.type}) needs ${v.contentType}; its data stays until you remove it (ssw down --purge).`,
        );
        add('volume', v.name, 'keep', [`is ${have.contentType}, wanted ${v.contentType}`], i.role);
      } else if (have.sizeBytes !== undefined && have.sizeBytes < v.sizeGb * GB)
        add('volume', v.name, 'change', [`grow ${Math.round(have.sizeBytes / GB)}GB -> ${want}`], i.role);
      else if (have.sizeBytes === undefined) add('volume', v.name, 'change', [`size: set ${want}`], i.role);
      else
        add(
          'volume',
          v.name,
          'keep',
          have.sizeBytes > v.sizeGb * GB
            ? [`${Math.round(have.sizeBytes / GB)}GB; the config asks for ${want}, volumes never shrink`]
            : [],
          i.role,
        );
    }
    const inst = current.instances[i.name];
    if (!inst)
      add('instance', i.name, 'create', [`${i.type} from ${desired.baseImage.alias}, MAC ${i.macAddress}`], i.role);
    else if (inst.type !== i.type) {
      conflicts.push(
        `instance ${i.name} is a ${inst.type} but INSTANCE_TYPE is ${i.type}; take it down first (ssw down) to rebuild it.`,
      );
      add('instance', i.name, 'keep', [`is a ${inst.type}`], i.role);
    } else if (inst.status.toLowerCase() !== 'running')
      add('instance', i.name, 'change', [`start (${inst.status.toLowerCase()})`], i.role);
    else add('instance', i.name, 'keep', ['running'], i.role);
  }

  // What the config no longer wants: instances and profiles go; volumes hold data and stay.
  const skippedNames = new Set(desired.skipped);
  for (const [name, inst] of Object.entries(current.instances)) {
    if (desired.instances.some((i) => i.name === name)) continue;
    const role = roleOf(name);
    if (role && skippedNames.has(role)) add('instance', name, 'keep', ['skipped by --skip-*'], role);
    else add('instance', name, 'delete', [`not in the config (${inst.status.toLowerCase()}); its volumes stay`], role);
  }
  for (const name of Object.keys(current.profiles)) {
    if (wantedProfiles.has(name)) continue;
    const role = roleOf(name);
    if (role && skippedNames.has(role)) add('profile', name, 'keep', ['skipped by --skip-*'], role);
    else add('profile', name, 'delete', ['not in the config'], role);
  }
  for (const name of Object.keys(current.volumes)) {
    if (!wantedVolumes.has(name))
      add('volume', name, 'keep', ['not in the config; kept (data): ssw down --purge removes it']);
  }

  return { items, empty: items.every((x) => x.action === 'keep'), conflicts };
}

function roleOf(name: string): InstanceRole | undefined {
  if (name.startsWith('www-')) return 'www';
  if (name.startsWith('btcpayserver-')) return 'btcpayserver';
  if (name.startsWith('lnplayserver-')) return 'lnplayserver';
  return undefined;
}

/** One line per item, grouped as an operator reads a plan: `+ create`, `~ change`, `= keep`, `- delete`. */
export function formatPlan(plan: DeploymentPlan, o: { showKeep?: boolean } = {}): string[] {
  const mark: Record<PlanAction, string> = { create: '+', change: '~', keep: '=', delete: '-' };
  const lines: string[] = [];
  for (const x of plan.items) {
    if (x.action === 'keep' && !o.showKeep) continue;
    lines.push(
      `${mark[x.action]} ${x.action.padEnd(6)} ${x.kind.padEnd(8)} ${x.name}${x.details.length ? `  (${x.details.join('; ')})` : ''}`,
    );
  }
  if (plan.empty) lines.push('No changes: the deployment matches the config.');
  for (const c of plan.conflicts) lines.push(`! conflict: ${c}`);
  return lines;
}
