import { formatBytes } from '../lib/format-bytes.js';
import type { CgroupReading, TaskCgroup } from './cgroup-tree.js';
import { fileSystemUsed, type HeldScratch, holdScratch, measureSandbox, measureTree } from './disk-usage.js';
import { killedBy, ranInto } from './limit-messages.js';
import type { LimitHit, TaskLimits } from './types.js';

/** How often the cheap counters (cgroup files, statfs of the scratch space) are read during a run. */
const TICK_MS = 100;
/** The disk walk runs at most every second, and never takes more than a tenth of the time. */
const MIN_DISK_INTERVAL_MS = 1_000;
const DISK_COST_SHARE = 10;
/** How long to keep trying to hold the scratch mounts once the sandbox exists (it makes them in ms). */
const HOLD_SCRATCH_MS = 1_000;

export interface RunWatchDeps {
  limits: TaskLimits;
  /** The task's cgroup; absent without cgroups, then memory is sampled from the sandbox's /proc. */
  group: TaskCgroup | undefined;
  /** The group's counters before the run: what grew during it is this command's doing. */
  before: CgroupReading | undefined;
  workdir: string;
  /** `du`; absent → the clone is not measured (the scratch space still is). */
  du: string | undefined;
  /** The clone's size when the run started; a run that only shrinks it is never killed for disk. */
  diskBefore: number | undefined;
  /** Called once, at the first limit crossed while the command runs: the caller kills the run. */
  onHit(hit: LimitHit): void;
}

export interface RunWatchResult {
  /** The limit that stopped the command, or one it ran into without being killed. */
  hit: LimitHit | undefined;
  peakMemoryBytes: number | null;
  /** Clone plus scratch at their highest during the run, and the clone alone at its end. */
  peakDiskBytes: number | null;
  cloneBytesAfter: number | undefined;
}

/**
 * Watches one command against the task's limits while it runs: the cgroup's OOM and process-limit
 * counters (or, without cgroups, the sandbox's memory), the scratch file systems, and the clone's
 * size; the first limit crossed calls `onHit` once. `stop()` takes the last readings after the command
 * ended, which also catches a limit it crossed between two readings.
 */
export function startRunWatch(deps: RunWatchDeps) {
  const state = {
    hit: undefined as LimitHit | undefined,
    tmpFull: false,
    peakMemory: null as number | null,
    peakDisk: null as number | null,
    scratch: 0,
    clone: deps.diskBefore,
    nextDiskAt: performance.now() + MIN_DISK_INTERVAL_MS,
    /** The walk's cost share allows the next one from here, if the file system says it may be due. */
    earliestDiskAt: performance.now(),
    /** What the clone's whole file system used when the clone was last walked. */
    fsUsedAtWalk: undefined as number | undefined,
    stopped: false,
  };
  const walk = new AbortController();
  let ticking: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let sandboxPid: number | undefined;
  let scratch: HeldScratch | undefined;
  let holding: Promise<void> = Promise.resolve();

  const raise = (hit: LimitHit) => {
    if (state.hit) return;
    state.hit = hit;
    deps.onHit(hit);
  };
  const notePeaks = (memory: number | null | undefined) => {
    if (memory != null) state.peakMemory = Math.max(state.peakMemory ?? 0, memory);
    if (state.clone !== undefined)
      state.peakDisk = Math.max(state.peakDisk ?? 0, state.clone + state.scratch);
  };

  async function measureScratch(): Promise<void> {
    if (!scratch) return;
    const used = await scratch.measure();
    state.scratch = used.total;
    state.tmpFull ||= used.tmpFull;
  }

  async function tick(): Promise<void> {
    // Until the sandbox has its own mounts, /proc/<pid>/root is the host's: its /proc is not the sandbox's.
    const inside = scratch?.inside() ? sandboxPid : undefined;
    const memory = await readMemory(deps, inside, raise);
    await measureScratch();
    if (deps.du && (await diskWalkDue())) await walkClone();
    notePeaks(memory);
    const total = (state.clone ?? 0) + state.scratch;
    // The scratch space starts empty: the command grew the task's disk if the total passed its start.
    const grew = deps.diskBefore === undefined || total > deps.diskBefore;
    if (total > deps.limits.diskBytes && grew) {
      raise(killedBy('disk', deps.limits, `${formatBytes(total)} in the clone and scratch space`));
    }
  }

  /**
   * A walk is due every second (or ten times its own cost), and sooner when the clone's file system
   * grew, for whatever reason, by more than the task has left: a fast writer is caught within a tick.
   */
  async function diskWalkDue(): Promise<boolean> {
    const now = performance.now();
    if (now >= state.nextDiskAt) return true;
    if (now < state.earliestDiskAt || state.fsUsedAtWalk === undefined) return false;
    const left = deps.limits.diskBytes - (state.clone ?? 0) - state.scratch;
    return ((await fileSystemUsed(deps.workdir)) ?? 0) - state.fsUsedAtWalk > left;
  }

  async function walkClone(): Promise<void> {
    const started = performance.now();
    state.fsUsedAtWalk = await fileSystemUsed(deps.workdir);
    const size = await measureTree(deps.du as string, deps.workdir, walk.signal);
    if (size !== undefined) state.clone = size;
    const took = performance.now() - started;
    state.nextDiskAt = performance.now() + Math.max(MIN_DISK_INTERVAL_MS, took * DISK_COST_SHARE);
    state.earliestDiskAt = performance.now() + took * DISK_COST_SHARE;
  }

  // The clone was measured when the last command ended: the file system's use now is its baseline.
  if (deps.du) {
    void fileSystemUsed(deps.workdir).then((used) => {
      state.fsUsedAtWalk ??= used;
    });
  }

  const schedule = () => {
    if (state.stopped) return;
    timer = setTimeout(() => {
      ticking = tick()
        .catch(() => undefined)
        .finally(schedule);
    }, TICK_MS);
  };
  schedule();

  async function stop(): Promise<RunWatchResult> {
    state.stopped = true;
    clearTimeout(timer);
    await ticking;
    const memory = await readMemory(deps, undefined, raise);
    scratch?.stopHolding();
    await holding;
    await measureScratch();
    await scratch?.close();
    if (deps.du) await walkClone();
    notePeaks(memory);
    const total = (state.clone ?? 0) + state.scratch;
    if (!state.hit && total > deps.limits.diskBytes && total > (deps.diskBefore ?? 0)) {
      state.hit = ranInto('disk', deps.limits, `${formatBytes(total)} in use; delete files before going on`);
    }
    if (!state.hit && state.tmpFull) {
      state.hit = ranInto(
        'tmp',
        deps.limits,
        '/tmp was full, so writes to it failed (No space left on device)',
      );
    }
    walk.abort();
    return {
      hit: state.hit,
      peakMemoryBytes: state.peakMemory,
      peakDiskBytes: state.peakDisk,
      cloneBytesAfter: state.clone,
    };
  }

  /** bwrap said which process is inside the sandbox: its root shows the sandbox's mounts and /proc. */
  function sandboxStarted(pid: number): void {
    sandboxPid = pid;
    scratch = holdScratch(pid, deps.limits.tmpBytes);
    holding = scratch.hold(HOLD_SCRATCH_MS);
  }

  return { sandboxStarted, stop };
}

/**
 * Memory and processes against their limits: with a cgroup, whether the OOM killer struck or a fork
 * was refused since the run began (the kernel enforces both; Patchbay then kills the rest of the
 * command); without one, the sandbox's own sums, and Patchbay kills the command that reaches them.
 */
async function readMemory(
  deps: RunWatchDeps,
  pid: number | undefined,
  raise: (hit: LimitHit) => void,
): Promise<number | null | undefined> {
  if (deps.group && deps.before) {
    const now = await deps.group.read();
    if (now.oomKills > deps.before.oomKills) raise(killedBy('memory', deps.limits));
    if (now.processLimitHits > deps.before.processLimitHits) raise(killedBy('processes', deps.limits));
    return now.peakMemoryBytes ?? now.memoryBytes;
  }
  if (pid === undefined) return undefined;
  const used = await measureSandbox(pid, deps.limits.processes);
  if (!used) return undefined;
  // bwrap's own two processes in the namespace count toward RLIMIT_NPROC but are not the command's.
  if (used.tasks >= deps.limits.processes - 2) raise(killedBy('processes', deps.limits));
  if (used.memoryBytes > deps.limits.memoryBytes) raise(killedBy('memory', deps.limits));
  return used.memoryBytes || undefined;
}
