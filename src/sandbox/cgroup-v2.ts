import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  killPids,
  listChildren,
  listPids,
  makeDir,
  pollUntil,
  readKeyed,
  readNumber,
  readText,
  removeDir,
  writeIfPresent,
  writeText,
} from './cgroup-files.js';
import {
  type CgroupReading,
  type CgroupTree,
  HOST_LEAF,
  isWorkerAlive,
  TASKS_DIR,
  type TaskCgroup,
} from './cgroup-tree.js';
import type { TaskLimits } from './types.js';

const WANTED = ['memory', 'pids', 'cpu'] as const;

export interface V2Options {
  /** Controllers without which the tree is refused (`memory`, `pids` for limits; none in tests). */
  required: readonly string[];
}

/**
 * Patchbay's place in a delegated cgroup v2 subtree (systemd `Delegate=yes`, or a container with its
 * own cgroup namespace and a writable /sys/fs/cgroup): `<own>/patchbay-tasks/<worker>/<task>`, with
 * memory, pids and cpu enabled down the path. v2 allows processes only in leaves, so when Patchbay's
 * own cgroup must parent the tasks, its processes move into `<own>/patchbay-host` first.
 */
export async function openV2Tree(ownDir: string, worker: string, opts: V2Options): Promise<CgroupTree> {
  // A second worker started by the first (same service) is born in the leaf: its base is the parent.
  const base = path.basename(ownDir) === HOST_LEAF ? path.dirname(ownDir) : ownDir;
  const available = ((await readText(path.join(base, 'cgroup.controllers'))) ?? '').trim().split(/\s+/);
  const missing = opts.required.filter((c) => !available.includes(c));
  if (missing.length > 0) {
    throw new Error(`the v2 controllers ${missing.join(', ')} are not delegated to ${base}`);
  }
  const enable = WANTED.filter((c) => available.includes(c));
  await enableBelow(base, enable);
  const tasksDir = path.join(base, TASKS_DIR);
  await makeDir(tasksDir);
  await enableIn(tasksDir, enable);
  const workerDir = path.join(tasksDir, worker);
  await makeDir(workerDir);
  await enableIn(workerDir, enable);
  const swap = existsSync(path.join(workerDir, 'memory.swap.max')) || !enable.includes('memory');
  return {
    enforcement: 'cgroup_v2',
    description:
      `cgroup v2 (${enable.join(', ') || 'no controllers'}) under ${tasksDir}: ` +
      `${enable.includes('memory') ? `memory${swap ? ' with no swap' : ''}, ` : ''}` +
      `${enable.includes('pids') ? 'processes, ' : ''}${enable.includes('cpu') ? 'CPU weight ' : ''}per task, ` +
      `${existsSync(path.join(workerDir, 'cgroup.kill')) ? 'cgroup.kill' : 'frozen then killed'} as a whole`,
    createGroup: (name, limits) => createGroup(path.join(workerDir, name), enable, limits),
    sweep: () => sweep(tasksDir, worker),
    async close() {
      await removeDir(workerDir);
    },
  };
}

/**
 * Enables the controllers for `base`'s children. The kernel refuses that while `base` holds processes
 * (unless it is the root), so they move into the `patchbay-host` leaf first, a few rounds in case one
 * forks meanwhile.
 */
async function enableBelow(base: string, enable: readonly string[]): Promise<void> {
  const enabled = ((await readText(path.join(base, 'cgroup.subtree_control'))) ?? '').trim().split(/\s+/);
  if (enable.every((c) => enabled.includes(c))) return;
  const isRoot = !existsSync(path.join(base, 'cgroup.type'));
  if (!isRoot) {
    const leaf = path.join(base, HOST_LEAF);
    await makeDir(leaf);
    for (let round = 0; round < 5; round++) {
      const pids = await listPids(base);
      if (pids.length === 0) break;
      for (const pid of pids) await writeText(path.join(leaf, 'cgroup.procs'), pid).catch(() => undefined);
    }
  }
  await enableIn(base, enable);
}

async function enableIn(dir: string, enable: readonly string[]): Promise<void> {
  if (enable.length === 0) return;
  await writeText(path.join(dir, 'cgroup.subtree_control'), enable.map((c) => `+${c}`).join(' '));
}

async function createGroup(dir: string, enabled: readonly string[], limits: TaskLimits): Promise<TaskCgroup> {
  const group = openGroup(dir);
  try {
    await makeDir(dir);
    if (enabled.includes('memory')) {
      await writeText(path.join(dir, 'memory.max'), limits.memoryBytes);
      // Swap counts against the limit: the task may not swap at all, so memory + swap <= memory.max.
      await writeIfPresent(path.join(dir, 'memory.swap.max'), 0);
      // An OOM kills the whole group, the way Patchbay would kill the command anyway.
      await writeIfPresent(path.join(dir, 'memory.oom.group'), 1);
    }
    if (enabled.includes('pids')) await writeText(path.join(dir, 'pids.max'), limits.processes);
    if (enabled.includes('cpu')) await writeIfPresent(path.join(dir, 'cpu.weight'), limits.cpuWeight);
  } catch (err) {
    await group.remove();
    throw err;
  }
  return group;
}

function openGroup(dir: string): TaskCgroup {
  return {
    procsFiles: [path.join(dir, 'cgroup.procs')],
    async read(): Promise<CgroupReading> {
      const events = path.join(dir, 'memory.events');
      return {
        oomKills:
          ((await readKeyed(events, 'oom_kill')) ?? 0) + ((await readKeyed(events, 'oom_group_kill')) ?? 0),
        processLimitHits: (await readKeyed(path.join(dir, 'pids.events'), 'max')) ?? 0,
        peakMemoryBytes: (await readNumber(path.join(dir, 'memory.peak'))) ?? null,
        memoryBytes: (await readNumber(path.join(dir, 'memory.current'))) ?? null,
      };
    },
    killAll: () => killAll(dir),
    async remove() {
      await killAll(dir);
      if (!(await removeDir(dir))) {
        await killAll(dir);
        await removeDir(dir);
      }
    },
  };
}

async function isEmpty(dir: string): Promise<boolean> {
  const populated = await readKeyed(path.join(dir, 'cgroup.events'), 'populated');
  return populated === undefined ? (await listPids(dir)).length === 0 : populated === 0;
}

/**
 * `cgroup.kill` (Linux 5.14+) SIGKILLs the whole subtree at once, forks in flight included. Older
 * kernels: freeze, kill every pid, thaw.
 */
async function killAll(dir: string): Promise<void> {
  for (let round = 0; round < 20; round++) {
    if (await isEmpty(dir)) return;
    if (!(await writeIfPresent(path.join(dir, 'cgroup.kill'), 1))) {
      const frozen = await writeIfPresent(path.join(dir, 'cgroup.freeze'), 1);
      if (frozen)
        await pollUntil(
          async () => (await readKeyed(path.join(dir, 'cgroup.events'), 'frozen')) === 1,
          1_000,
        );
      killPids(await listPids(dir));
      await writeIfPresent(path.join(dir, 'cgroup.freeze'), 0);
    }
    if (await pollUntil(() => isEmpty(dir), 2_000)) return;
  }
}

async function sweep(tasksDir: string, self: string): Promise<number> {
  let removed = 0;
  for (const worker of await listChildren(tasksDir)) {
    if (worker === self || (await isWorkerAlive(worker))) continue;
    for (const name of await listChildren(path.join(tasksDir, worker))) {
      await openGroup(path.join(tasksDir, worker, name)).remove();
      removed += 1;
    }
    await removeDir(path.join(tasksDir, worker));
  }
  return removed;
}
