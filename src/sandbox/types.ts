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
  network: 'none' | 'internet';
  timeoutMs: number;
  /** Bytes of combined stdout+stderr kept; beyond it the middle is dropped (keep head and tail) and counted. Default 1 MiB. */
  maxOutputBytes?: number;
  /** Aborting kills the whole process group at once. */
  signal?: AbortSignal;
  /** Extra non-secret variables (already vetted by the caller), added to the allowlist base env. */
  env?: Record<string, string>;
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
}

export interface Sandbox {
  readonly mode: SandboxMode;
  run(req: SandboxRunRequest): Promise<SandboxRunResult>;
}
