import path from 'node:path';

/** Where this process's own cgroup is, in the hierarchies the host mounts. */
export type OwnCgroups =
  | { version: 2; dir: string }
  | {
      version: 1;
      /** The directory of this process's cgroup in each mounted v1 controller's hierarchy. */
      dirs: Partial<Record<V1Controller, string>>;
    };

export type V1Controller = 'memory' | 'pids' | 'cpu' | 'freezer';
const V1_CONTROLLERS: readonly V1Controller[] = ['memory', 'pids', 'cpu', 'freezer'];

interface Mount {
  /** The cgroup path the mount shows at its mount point (`/` unless a subtree was bind-mounted). */
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

/**
 * Finds this process's own cgroup directories from `/proc/self/mountinfo` and `/proc/self/cgroup`
 * (passed as text, so that tests can describe any host). Returns both the v2 directory and the v1
 * ones that exist; which of them can hold limits is decided by the caller, who reads their files.
 */
export function findOwnCgroups(mountinfo: string, selfCgroup: string): { v2?: OwnCgroups; v1?: OwnCgroups } {
  const mounts = mountinfo.split('\n').flatMap(parseMountLine);
  const paths = parseSelfCgroup(selfCgroup);
  const found: { v2?: OwnCgroups; v1?: OwnCgroups } = {};
  const unified = mounts.find((m) => m.fsType === 'cgroup2');
  const unifiedPath = paths.get('');
  if (unified && unifiedPath !== undefined) {
    const dir = resolveIn(unified, unifiedPath);
    if (dir) found.v2 = { version: 2, dir };
  }
  const dirs: Partial<Record<V1Controller, string>> = {};
  for (const controller of V1_CONTROLLERS) {
    const mount = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes(controller));
    const own = paths.get(controller);
    if (!mount || own === undefined) continue;
    const dir = resolveIn(mount, own);
    if (dir) dirs[controller] = dir;
  }
  if (Object.keys(dirs).length > 0) found.v1 = { version: 1, dirs };
  return found;
}

/** `36 25 0:31 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory` */
function parseMountLine(line: string): Mount[] {
  const [before, after] = line.split(' - ');
  if (!before || !after) return [];
  const fields = before.split(' ');
  const [fsType, , superOptions = ''] = after.split(' ');
  const root = fields[3];
  const mountPoint = fields[4];
  if (!root || !mountPoint || !fsType) return [];
  return [
    {
      root: unescapeOctal(root),
      mountPoint: unescapeOctal(mountPoint),
      fsType,
      superOptions: superOptions.split(','),
    },
  ];
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** `4:memory:/a/b` → memory → /a/b; `2:cpu,cpuacct:/` names two controllers; `0::/x` is v2 (key ''). */
function parseSelfCgroup(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, controllers = '', cgroupPath = ''] = match;
    for (const name of controllers.split(',')) paths.set(name, cgroupPath);
  }
  return paths;
}

/**
 * The directory of a cgroup path under a mount that may show only a subtree (a container's bind
 * mount): undefined when the path lies outside what the mount shows. A path ending in ` (deleted)`
 * belongs to a removed cgroup and cannot be used either.
 */
function resolveIn(mount: Mount, cgroupPath: string): string | undefined {
  if (cgroupPath.endsWith(' (deleted)')) return undefined;
  const root = mount.root === '/' ? '' : mount.root;
  if (root && cgroupPath !== root && !cgroupPath.startsWith(`${root}/`)) return undefined;
  const dir = path.join(mount.mountPoint, cgroupPath.slice(root.length));
  return dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
}
