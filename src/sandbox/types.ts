import type { LimitName } from '../domain/task.js';

/** How commands are isolated: bubblewrap namespaces, or nothing at all (explicit opt-out). */
export type SandboxMode = 'bwrap' | 'none';

export interface SandboxRunRequest {
  /** A shell command, run as `bash -c <command>` (non-interactive, stdin is /dev/null). */
  command: string;
  /** Host path of the task's clone. Writable. In bwrap mode it is mounted at /workspace and is the cwd. */
  workdir: string;
  /** Extra host paths mounted read-only at the same path (the task's git mirror: the clone borrows its objects through an absolute alternates path). */
  readOnlyPaths?: string[];
  /** 'none' for the agent and checks; 'internet' for setup commands: the internet, but not the host's own services (loopback, e.g. Redis) nor link-local addresses (169.254.0.0/16, cloud metadata). */
  network: 'none' | 'internet' | 'proxy';
  /**
   * With network 'proxy' (the agent's commands of a repository with `network: allowlist`): the host
   * directory of the task's proxy session. The sandbox keeps its own network namespace with no route
   * out; the directory is mounted read-only inside, and a forwarder on the sandbox's own loopback
   * passes HTTP_PROXY/HTTPS_PROXY connections to the proxy's Unix socket in it.
   */
  proxyDir?: string;
  timeoutMs: number;
  /** Bytes of combined stdout+stderr kept; beyond it the middle is dropped (keep head and tail) and counted. Default 1 MiB. */
  maxOutputBytes?: number;
  /** Aborting kills the whole process group at once. */
  signal?: AbortSignal;
  /** Extra non-secret variables (already vetted by the caller), added to the allowlist base env. */
  env?: Record<string, string>;
  /**
   * A repository's package cache (setup and maintenance only, never the agent): mounted at
   * SANDBOX_CACHE, read-only unless `writable`, and named by the package managers' variables.
   */
  cache?: { dir: string; writable: boolean };
}

export interface SandboxRunResult {
  /** null when killed (timeout, abort, or a signal). */
  exitCode: number | null;
  /** Combined stdout+stderr in arrival order, capped as requested. */
  output: string;
  /** Bytes cut from the middle of the output. */
  droppedBytes: number;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
  /** Set when a task-wide limit stopped the command (task sandboxes only). */
  limit?: LimitHit;
}

export interface Sandbox {
  readonly mode: SandboxMode;
  run(req: SandboxRunRequest): Promise<SandboxRunResult>;
}

/** What one task may use, for everything it runs in the sandbox together (patchbay.yml `limits:`). */
export interface TaskLimits {
  /** Memory of all the task's processes together, swap included. */
  memoryBytes: number;
  /** Processes and threads alive at once. */
  processes: number;
  /** The clone plus the scratch space (/tmp, HOME, /dev/shm) together. */
  diskBytes: number;
  /** The size of each in-memory scratch file system: /tmp, HOME and /dev/shm. */
  tmpBytes: number;
  /** A relative CPU share against the other tasks (cgroup v2's cpu.weight scale, default 100). */
  cpuWeight: number;
}

/** A limit that stopped a command, and the sentence that tells the agent (and the requester) so. */
export interface LimitHit {
  name: LimitName;
  /** `killed: the task's memory limit of 4 GiB was reached` */
  message: string;
}

/** Highs of the task so far; null where they could not be measured. */
export interface ResourcePeaks {
  peakMemoryBytes: number | null;
  peakDiskBytes: number | null;
}

/** cgroups per task (v2 or v1), or without them rlimits per process and Patchbay's own watchdogs. */
export type LimitEnforcement = 'cgroup_v2' | 'cgroup_v1' | 'rlimits';

/**
 * One task's sandbox: every command of the task (setup, the agent's, checks) runs through it and
 * counts against the same limits; a command stopped by a limit comes back with `limit` set.
 */
export interface TaskSandbox extends Sandbox {
  readonly enforcement: LimitEnforcement;
  readonly limits: TaskLimits;
  peaks(): ResourcePeaks;
  /** Commands stopped so far, by limit. */
  hits(): Partial<Record<LimitName, number>>;
  /** Kills whatever of the task still runs and removes its cgroup. Idempotent. */
  close(): Promise<ResourcePeaks>;
}

export interface OpenTaskOptions {
  /** Names the task's cgroup (with a counter: a task may run again on the same worker). */
  taskId: string;
  /** Host path of the task's clone: its disk use is watched. */
  workdir: string;
  limits: TaskLimits;
  /** Told each time a command is stopped by a limit, with how many that limit has stopped so far. */
  onLimit?(hit: LimitHit, count: number): void;
}

/** The sandbox of a worker: one-off commands (`run`, unlimited: the start-up probe) and task sandboxes. */
export interface SandboxHost extends Sandbox {
  readonly enforcement: LimitEnforcement;
  openTask(opts: OpenTaskOptions): Promise<TaskSandbox>;
}
