import { PatchbayError } from '../domain/errors.js';
import type { LimitName } from '../domain/task.js';
import type { Logger } from '../lib/logger.js';
import type { CgroupTree, TaskCgroup } from './cgroup-tree.js';
import { measureTree } from './disk-usage.js';
import { LAUNCH_FAILED_EXIT, LAUNCH_FAILED_MARK } from './limit-launch.js';
import { ranInto } from './limit-messages.js';
import type { Launch } from './run-command.js';
import { type RunWatchResult, startRunWatch } from './run-watch.js';
import type {
  LimitHit,
  OpenTaskOptions,
  ResourcePeaks,
  SandboxMode,
  SandboxRunRequest,
  SandboxRunResult,
  TaskSandbox,
} from './types.js';
import { type ValidRequest, validateRequest } from './validate-request.js';

export interface TaskSandboxDeps {
  mode: SandboxMode;
  run(req: ValidRequest, launch: Launch): Promise<SandboxRunResult>;
  cgroups: CgroupTree | undefined;
  du: string | undefined;
  log: Logger;
}

/**
 * What a command says when an rlimit refused it: without cgroups nothing else tells, since the kernel
 * keeps no count of refusals. RLIMIT_AS refuses memory; RLIMIT_NPROC refuses forks with EAGAIN.
 */
const OUT_OF_MEMORY = /out of memory|cannot allocate memory|bad_alloc|MemoryError|allocation failed|ENOMEM/i;
const FORK_REFUSED = /fork: (retry: )?Resource temporarily unavailable|spawn EAGAIN|can(no|')t fork/i;

/** A task may run again on this worker (a retry) while its previous group is still being removed. */
let groupCount = 0;

/**
 * A task's sandbox. With cgroups, one group holds every process of every command of the task (the
 * launcher joins it before bwrap exists); its memory, swap, process and CPU limits are the kernel's.
 * Without, each command gets rlimits and Patchbay's watchdog samples the sandbox's memory. Either way
 * the scratch space is sized, the clone's disk use is watched, and a command that crosses a limit is
 * killed whole and comes back with `limit` set; nothing of a command outlives it.
 */
export async function openTaskSandbox(deps: TaskSandboxDeps, opts: OpenTaskOptions): Promise<TaskSandbox> {
  const { limits } = opts;
  const group = deps.cgroups
    ? await deps.cgroups.createGroup(`${opts.taskId}-${++groupCount}`, limits)
    : undefined;
  const peaks: ResourcePeaks = { peakMemoryBytes: null, peakDiskBytes: null };
  const hits: Partial<Record<LimitName, number>> = {};
  let clone = deps.du ? await measureTree(deps.du, opts.workdir) : undefined;
  if (clone !== undefined) peaks.peakDiskBytes = clone;
  let closed = false;

  const count = (hit: LimitHit) => {
    hits[hit.name] = (hits[hit.name] ?? 0) + 1;
    opts.onLimit?.(hit, hits[hit.name] ?? 1);
  };

  async function run(req: SandboxRunRequest): Promise<SandboxRunResult> {
    if (closed) throw new PatchbayError('internal', "the task's sandbox was closed");
    const valid = validateRequest(req);
    const killed = new AbortController();
    const watch = startRunWatch({
      limits,
      group,
      before: group ? await group.read() : undefined,
      workdir: opts.workdir,
      du: deps.du,
      diskBefore: clone,
      onHit: () => killed.abort(),
    });
    const signal = valid.signal ? AbortSignal.any([valid.signal, killed.signal]) : killed.signal;
    const launch = {
      joinFiles: group?.procsFiles ?? [],
      limits,
      onSandboxPid: watch.sandboxStarted,
    };
    const outcome = await deps.run({ ...valid, signal }, launch).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    // A limit may also be found only once the command has ended (its last readings): then it was not killed.
    const killedWhileRunning = killed.signal.aborted;
    const seen = await watch.stop();
    // bwrap's pid namespace dies with the command; the group is emptied as well, in case.
    await group?.killAll();
    notePeaks(seen);
    if ('error' in outcome) throw outcome.error;
    checkLaunched(outcome.result);
    const hit = seen.hit ?? (group ? undefined : refusedByRlimit(outcome.result));
    if (!hit || valid.signal?.aborted) return outcome.result;
    count(hit);
    return killedWhileRunning
      ? { ...outcome.result, exitCode: null, aborted: false, limit: hit }
      : { ...outcome.result, limit: hit };
  }

  function notePeaks(seen: RunWatchResult): void {
    if (seen.cloneBytesAfter !== undefined) clone = seen.cloneBytesAfter;
    if (seen.peakMemoryBytes !== null)
      peaks.peakMemoryBytes = Math.max(peaks.peakMemoryBytes ?? 0, seen.peakMemoryBytes);
    if (seen.peakDiskBytes !== null)
      peaks.peakDiskBytes = Math.max(peaks.peakDiskBytes ?? 0, seen.peakDiskBytes);
  }

  function refusedByRlimit(result: SandboxRunResult): LimitHit | undefined {
    if (FORK_REFUSED.test(result.output)) {
      return ranInto('processes', limits, 'a new process was refused (Resource temporarily unavailable)');
    }
    if (result.exitCode === 0 || !OUT_OF_MEMORY.test(result.output)) return undefined;
    return ranInto(
      'memory',
      limits,
      'a process could not get more memory (without cgroups, each process of the task may address at most that much)',
    );
  }

  return {
    mode: deps.mode,
    enforcement: deps.cgroups?.enforcement ?? 'rlimits',
    limits,
    run,
    peaks: () => ({ ...peaks }),
    hits: () => ({ ...hits }),
    async close() {
      if (!closed) {
        closed = true;
        await removeGroup(group, deps.log);
      }
      return { ...peaks };
    },
  };
}

async function removeGroup(group: TaskCgroup | undefined, log: Logger): Promise<void> {
  await group
    ?.remove()
    .catch((err: Error) => log.warn({ err: err.message }, "could not remove the task's cgroup"));
}

/** The launcher exits 125 with its mark, having run nothing, when it could not join the cgroup. */
function checkLaunched(result: SandboxRunResult): void {
  if (result.exitCode !== LAUNCH_FAILED_EXIT || !result.output.startsWith(LAUNCH_FAILED_MARK)) return;
  throw new PatchbayError(
    'internal',
    `could not place the command in the task's cgroup: ${result.output.trim()}`,
  );
}
