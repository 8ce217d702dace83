import { readFile } from 'node:fs/promises';
import type { TaskLimits } from './types.js';

/** Under Patchbay's own cgroup: `patchbay-tasks/<worker>/<task group>`. */
export const TASKS_DIR = 'patchbay-tasks';
/**
 * cgroup v2 allows processes only in leaves: where Patchbay's own cgroup must also parent the task
 * groups, the processes already in it (Patchbay, tini…) move into this leaf first.
 */
export const HOST_LEAF = 'patchbay-host';

/** What a task group's counters say; the counts are cumulative for the group's life. */
export interface CgroupReading {
  /** Processes the kernel's OOM killer killed in the group. */
  oomKills: number;
  /** Forks refused because the group was at its process limit. */
  processLimitHits: number;
  /** The highest memory (+swap) use the kernel recorded; null where it keeps no peak. */
  peakMemoryBytes: number | null;
  memoryBytes: number | null;
}

/** One task's cgroup (in each v1 hierarchy, or the one v2 directory). */
export interface TaskCgroup {
  /** The `cgroup.procs` files a process writes its own pid into to join the group. */
  readonly procsFiles: readonly string[];
  read(): Promise<CgroupReading>;
  /** SIGKILLs every process in the group and waits until it is empty (bounded). */
  killAll(): Promise<void>;
  /** Kills whatever is left and removes the group. Idempotent. */
  remove(): Promise<void>;
}

/** This worker's place in the host's cgroups. */
export interface CgroupTree {
  readonly enforcement: 'cgroup_v1' | 'cgroup_v2';
  /** One line for start-up: where the groups are and what they bound. */
  readonly description: string;
  createGroup(name: string, limits: TaskLimits): Promise<TaskCgroup>;
  /** Removes the groups of workers that died without cleaning up (SIGKILL, OOM); returns the count. */
  sweep(): Promise<number>;
  /** Removes this worker's own directory once its groups are gone (shutdown). */
  close(): Promise<void>;
}

/**
 * This process's name among the workers that share a cgroup: its pid and kernel start time, so that
 * a sweep can tell a dead worker's directory from a live one even after the pid was reused.
 */
export async function ownWorkerName(): Promise<string> {
  return `w${process.pid}-${(await readStartTime(process.pid)) ?? 0}`;
}

/** Whether the worker that made this directory still runs (a name not ours counts as alive). */
export async function isWorkerAlive(name: string): Promise<boolean> {
  const match = /^w(\d+)-(\d+)(-[a-z]+)?$/.exec(name);
  if (!match) return true;
  const stat = await readStat(Number(match[1]));
  // A zombie (killed, not yet reaped by its parent) is as dead as a worker gets.
  return stat !== undefined && stat.start === match[2] && stat.state !== 'Z' && stat.state !== 'X';
}

async function readStartTime(pid: number): Promise<string | undefined> {
  return (await readStat(pid))?.start;
}

async function readStat(pid: number): Promise<{ state: string; start: string } | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; the fields after its last ')' are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** cgroup v2's cpu.weight (1–10000, default 100) on v1's cpu.shares scale (2–262144, default 1024). */
export function toCpuShares(weight: number): number {
  return Math.min(262_144, Math.max(2, Math.round((weight * 1024) / 100)));
}
