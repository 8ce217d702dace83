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
import type { V1Controller } from './cgroup-mounts.js';
import {
  type CgroupReading,
  type CgroupTree,
  isWorkerAlive,
  TASKS_DIR,
  type TaskCgroup,
  toCpuShares,
} from './cgroup-tree.js';
import type { TaskLimits } from './types.js';

type Dirs = Partial<Record<V1Controller, string>>;

/**
 * The v1 hierarchies Patchbay uses: `memory` (with swap when the kernel accounts it) and `pids` are
 * required, `cpu` (cpu.shares) and `freezer` (a kill that no fork can outrun) are used when mounted.
 * Each gets `<own cgroup>/patchbay-tasks/<worker>/`; making it is the test that Patchbay may write there.
 */
export async function openV1Tree(own: Dirs, worker: string): Promise<CgroupTree> {
  const missing = (['memory', 'pids'] as const).filter((c) => !own[c]);
  if (missing.length > 0) throw new Error(`the v1 ${missing.join(' and ')} hierarchy is not mounted`);
  const tasksDirs: Dirs = {};
  const workerDirs: Dirs = {};
  for (const [controller, dir] of entries(own)) {
    tasksDirs[controller] = path.join(dir, TASKS_DIR);
    workerDirs[controller] = path.join(dir, TASKS_DIR, worker);
    await makeDir(path.join(dir, TASKS_DIR, worker));
  }
  const swap = existsSync(path.join(workerDirs.memory ?? '', 'memory.memsw.limit_in_bytes'));
  const used = entries(own).map(([c]) => c);
  return {
    enforcement: 'cgroup_v1',
    description:
      `cgroup v1 (${used.join(', ')}) under ${tasksDirs.memory}: memory${swap ? ' and swap' : ' (swap not accounted by this kernel)'}, ` +
      `processes${own.cpu ? ', CPU shares' : ''} per task${own.freezer ? ', frozen then killed' : ', killed'} as a whole`,
    createGroup: (name, limits) => createGroup(workerDirs, name, limits),
    sweep: () => sweep(tasksDirs, worker),
    async close() {
      for (const [, dir] of entries(workerDirs)) await removeDir(dir);
    },
  };
}

function entries(dirs: Dirs): Array<[V1Controller, string]> {
  return Object.entries(dirs).filter((e): e is [V1Controller, string] => typeof e[1] === 'string');
}

async function createGroup(workerDirs: Dirs, name: string, limits: TaskLimits): Promise<TaskCgroup> {
  const dirs: Dirs = {};
  for (const [controller, dir] of entries(workerDirs)) dirs[controller] = path.join(dir, name);
  const group = openGroup(dirs);
  try {
    for (const [, dir] of entries(dirs)) await makeDir(dir);
    await setLimits(dirs, limits);
  } catch (err) {
    await group.remove();
    throw err;
  }
  return group;
}

async function setLimits(dirs: Dirs, limits: TaskLimits): Promise<void> {
  const memory = dirs.memory as string;
  // memsw (memory + swap) may never be below the memory limit: set memory first on a fresh group.
  await writeText(path.join(memory, 'memory.limit_in_bytes'), limits.memoryBytes);
  await writeIfPresent(path.join(memory, 'memory.memsw.limit_in_bytes'), limits.memoryBytes);
  await writeText(path.join(dirs.pids as string, 'pids.max'), limits.processes);
  if (dirs.cpu) await writeIfPresent(path.join(dirs.cpu, 'cpu.shares'), toCpuShares(limits.cpuWeight));
}

function openGroup(dirs: Dirs): TaskCgroup {
  const memory = dirs.memory as string;
  const pids = dirs.pids as string;
  return {
    procsFiles: entries(dirs).map(([, dir]) => path.join(dir, 'cgroup.procs')),
    async read(): Promise<CgroupReading> {
      const peak =
        (await readNumber(path.join(memory, 'memory.memsw.max_usage_in_bytes'))) ??
        (await readNumber(path.join(memory, 'memory.max_usage_in_bytes')));
      const current =
        (await readNumber(path.join(memory, 'memory.memsw.usage_in_bytes'))) ??
        (await readNumber(path.join(memory, 'memory.usage_in_bytes')));
      return {
        oomKills: (await readKeyed(path.join(memory, 'memory.oom_control'), 'oom_kill')) ?? 0,
        processLimitHits: (await readKeyed(path.join(pids, 'pids.events'), 'max')) ?? 0,
        peakMemoryBytes: peak ?? null,
        memoryBytes: current ?? null,
      };
    },
    killAll: () => killAll(pids, dirs.freezer),
    async remove() {
      await killAll(pids, dirs.freezer);
      for (const [, dir] of entries(dirs)) {
        if (!(await removeDir(dir))) {
          await killAll(pids, dirs.freezer);
          await removeDir(dir);
        }
      }
    },
  };
}

/**
 * v1 has no cgroup.kill. With the freezer, the group is frozen first, so that no process can fork
 * between the listing and the kill; then every pid gets SIGKILL and the group is thawed for the
 * signals to land. Without it, rounds of kill-what-is-listed: pids.max bounds what a fork bomb can
 * add between rounds.
 */
async function killAll(pidsDir: string, freezerDir: string | undefined): Promise<void> {
  for (let round = 0; round < 20; round++) {
    if ((await listPids(pidsDir)).length === 0) return;
    const frozen = freezerDir ? await freeze(freezerDir) : false;
    killPids(await listPids(pidsDir));
    if (freezerDir) await writeIfPresent(path.join(freezerDir, 'freezer.state'), 'THAWED');
    const empty = await pollUntil(async () => (await listPids(pidsDir)).length === 0, frozen ? 2_000 : 200);
    if (empty) return;
  }
}

async function freeze(freezerDir: string): Promise<boolean> {
  const state = path.join(freezerDir, 'freezer.state');
  if (!(await writeIfPresent(state, 'FROZEN'))) return false;
  return pollUntil(async () => (await readText(state))?.trim() === 'FROZEN', 1_000);
}

/** Groups of dead workers: everything in them killed, then removed, in every hierarchy. */
async function sweep(tasksDirs: Dirs, self: string): Promise<number> {
  const anchor = tasksDirs.pids as string;
  let removed = 0;
  for (const worker of await listChildren(anchor)) {
    if (worker === self || (await isWorkerAlive(worker))) continue;
    const workerDirs: Dirs = {};
    for (const [controller, dir] of entries(tasksDirs)) workerDirs[controller] = path.join(dir, worker);
    for (const name of await listChildren(path.join(anchor, worker))) {
      const dirs: Dirs = {};
      for (const [controller, dir] of entries(workerDirs)) dirs[controller] = path.join(dir, name);
      await openGroup(dirs).remove();
      removed += 1;
    }
    for (const [, dir] of entries(workerDirs)) await removeDir(dir);
  }
  return removed;
}
