import type { LimitsConfig, RepositoryConfig } from '../config/file-schema.js';
import { PatchbayError } from '../domain/errors.js';
import type { TaskStore } from '../domain/ports.js';
import type { LimitName, TaskResources } from '../domain/task.js';
import type { Logger } from '../lib/logger.js';
import { describeLimit, LIMIT_KEYS } from '../sandbox/limit-messages.js';
import type { LimitHit, SandboxHost, TaskLimits, TaskSandbox } from '../sandbox/types.js';

/** Commands one limit may stop during the agent's work before the task fails for it. */
export const MAX_LIMIT_HITS = 3;

const MIB = 1024 * 1024;

/** patchbay.yml's limits (MiB) as the sandbox takes them (bytes). */
export function toTaskLimits(limits: LimitsConfig): TaskLimits {
  return {
    memoryBytes: limits.memory_mb * MIB,
    processes: limits.processes,
    diskBytes: limits.disk_mb * MIB,
    tmpBytes: limits.tmp_mb * MIB,
    cpuWeight: limits.cpu_weight,
  };
}

/**
 * One attempt's sandbox under the task's limits, and the rule that turns limits into a failure: a
 * limit that stopped {@link MAX_LIMIT_HITS} of the agent's commands aborts `signal` and the attempt
 * fails with `limit_exceeded`, the limit named and the key to raise in patchbay.yml. (Setup stopped by
 * a limit fails at once, in runSetup; checks are reported, never failed for it.)
 */
export interface LimitedAttemptOptions {
  sandboxes: SandboxHost;
  taskId: string;
  workdir: string;
  repo: RepositoryConfig;
  limits: LimitsConfig;
  signal: AbortSignal;
  log: Logger;
  /** What earlier attempts of the task used: this one's peaks and hits are added to it. */
  before: TaskResources | undefined;
}

export async function openLimitedAttempt(opts: LimitedAttemptOptions) {
  const stop = new AbortController();
  let failure: PatchbayError | undefined;
  let closing: Promise<TaskResources> | undefined;
  let agentRunning = false;
  const sandbox = await opts.sandboxes.openTask({
    taskId: opts.taskId,
    workdir: opts.workdir,
    limits: toTaskLimits(opts.limits),
    onLimit(hit, count) {
      opts.log.warn({ limit: hit.name, count }, 'a command was stopped by a task limit');
      if (!agentRunning || count < MAX_LIMIT_HITS || failure) return;
      failure = limitExceeded(hit, count, sandbox.limits, opts.repo.name);
      stop.abort(failure);
    },
  });
  return {
    sandbox,
    /** The attempt's signal, also aborted when the task keeps hitting a limit. */
    signal: AbortSignal.any([opts.signal, stop.signal]),
    /** Whether the agent is at work: only its commands count towards failing the task. */
    agentAt(running: boolean) {
      agentRunning = running;
    },
    /** The failure that aborted the attempt, when a limit did. */
    failure: () => failure,
    /**
     * Kills what is left of the task's commands, removes its cgroup, and adds this attempt's use to
     * the earlier attempts'. Once: the host's git must not run beside the task's commands, so the
     * attempt closes it before it commits, and again (a no-op) at its end.
     */
    close(): Promise<TaskResources> {
      closing ??= sandbox.close().then((peaks) => addResources(opts.before, sandbox, peaks));
      return closing;
    },
  };
}
export type LimitedAttempt = Awaited<ReturnType<typeof openLimitedAttempt>>;

/**
 * Runs an attempt's work under the task's limits and, whatever happens, closes its sandbox (every
 * process of the task killed, its cgroup removed) and records what the task used of its limits on
 * the task record, before the clone is removed and the outcome recorded.
 */
export async function workUnderLimits<T>(
  opts: LimitedAttemptOptions & { store: TaskStore },
  work: (limited: LimitedAttempt) => Promise<T>,
): Promise<T> {
  const limited = await openLimitedAttempt(opts);
  try {
    return await work(limited);
  } finally {
    const resources = await limited.close();
    await opts.store
      .update(opts.taskId, () => ({ resources }))
      .catch((err: Error) => opts.log.warn({ err: err.message }, "could not record the task's resources"));
  }
}

export function limitExceeded(hit: LimitHit, count: number, limits: TaskLimits, repo: string): PatchbayError {
  return new PatchbayError(
    'limit_exceeded',
    `the task's ${describeLimit(hit.name, limits)} stopped ${count} of its commands; last: ${hit.message}`,
    { hint: raiseHint(hit.name, repo) },
  );
}

/** Where to raise a limit: the top-level key, or the repository's own. */
export function raiseHint(name: LimitName, repo: string): string {
  const key = LIMIT_KEYS[name];
  return `raise limits.${key} in patchbay.yml (at the top level, or under ${repo}'s entry in repositories), or ask for work that needs less, then ask again`;
}

function addResources(
  before: TaskResources | undefined,
  sandbox: TaskSandbox,
  peaks: { peakMemoryBytes: number | null; peakDiskBytes: number | null },
): TaskResources {
  const hits: Partial<Record<LimitName, number>> = { ...before?.limitHits };
  for (const [name, count] of Object.entries(sandbox.hits()) as Array<[LimitName, number]>) {
    hits[name] = (hits[name] ?? 0) + count;
  }
  return {
    enforcement: sandbox.enforcement,
    peakMemoryBytes: higher(before?.peakMemoryBytes, peaks.peakMemoryBytes),
    memoryLimitBytes: sandbox.limits.memoryBytes,
    peakDiskBytes: higher(before?.peakDiskBytes, peaks.peakDiskBytes),
    diskLimitBytes: sandbox.limits.diskBytes,
    limitHits: hits,
  };
}

function higher(a: number | null | undefined, b: number | null): number | null {
  if (a == null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
