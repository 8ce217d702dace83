import { type ChildProcess, spawn } from 'node:child_process';
import { PatchbayError } from '../domain/errors.js';
import { createOutputCapper } from './output-capper.js';
import type { SandboxRunResult } from './types.js';

/** How long to keep reading output after the process is gone before giving up on its pipes. */
const DRAIN_GRACE_MS = 1000;

export interface ProcessSpec {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** Extra pipes after stdin/stdout/stderr (fd 3, 4, …), for handshakes with the started process. */
  extraPipes?: number;
}

export interface RunLimits {
  timeoutMs: number;
  maxOutputBytes: number;
  signal?: AbortSignal | undefined;
}

/**
 * Runs before the process is awaited, e.g. to connect its network namespace. `stopped` fires once the
 * process is killed or exits, so a handshake never waits on a process that is gone. Returns a cleanup.
 */
export type Prepare = (child: ChildProcess, stopped: AbortSignal) => Promise<() => void>;

/**
 * Spawns a process as the leader of its own process group and waits for it under a deadline. Timeout,
 * abort, and the main process's own exit all SIGKILL the whole group, so background grandchildren
 * (`sleep 100 &`) cannot keep the run alive by holding the output pipes open.
 */
export async function runProcess(
  spec: ProcessSpec,
  limits: RunLimits,
  prepare?: Prepare,
): Promise<SandboxRunResult> {
  const started = performance.now();
  if (limits.signal?.aborted) return emptyResult({ aborted: true, durationMs: 0 });
  const child = spawnGroup(spec);
  const capper = createOutputCapper(limits.maxOutputBytes);
  child.stdout?.on('data', (chunk: Buffer) => capper.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => capper.push(chunk));
  const outcome = watchProcess(child, limits);
  // Awaited below; this only keeps a spawn error from counting as unhandled while prepare runs.
  outcome.exited.catch(() => {});
  let cleanup = (): void => {};
  try {
    if (prepare) cleanup = await prepare(child, outcome.stopped);
    const exit = await outcome.exited;
    await waitForDrain(child);
    const { output, droppedBytes } = capper.finish();
    const killed = outcome.state.timedOut || outcome.state.aborted;
    return {
      exitCode: killed ? null : exit,
      output,
      droppedBytes,
      ...outcome.state,
      durationMs: since(started),
    };
  } finally {
    outcome.dispose();
    // Only a process still running here (prepare failed) needs killing: once it has been reaped its
    // group id may, however unlikely, belong to someone else.
    if (child.exitCode === null && child.signalCode === null) killGroup(child.pid);
    cleanup();
  }
}

function spawnGroup(spec: ProcessSpec): ChildProcess {
  const extra = Array.from({ length: spec.extraPipes ?? 0 }, () => 'pipe' as const);
  // detached: the child calls setsid(), so its pid is also the id of a process group we can kill whole.
  return spawn(spec.file, spec.args, {
    env: spec.env,
    cwd: spec.cwd,
    stdio: ['ignore', 'pipe', 'pipe', ...extra],
    detached: true,
  });
}

interface Watch {
  exited: Promise<number | null>;
  stopped: AbortSignal;
  state: { timedOut: boolean; aborted: boolean };
  dispose(): void;
}

function watchProcess(child: ChildProcess, limits: RunLimits): Watch {
  const state = { timedOut: false, aborted: false };
  const stop = new AbortController();
  const kill = (reason: 'timedOut' | 'aborted') => {
    state[reason] = true;
    killGroup(child.pid);
    stop.abort();
  };
  const timer = setTimeout(() => kill('timedOut'), limits.timeoutMs);
  const onAbort = () => kill('aborted');
  limits.signal?.addEventListener('abort', onAbort, { once: true });
  const dispose = () => {
    clearTimeout(timer);
    limits.signal?.removeEventListener('abort', onAbort);
  };
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('exit', (code) => {
      // The deadline no longer applies while the output drains; whatever the command left running in
      // its group goes with it.
      dispose();
      killGroup(child.pid);
      stop.abort();
      resolve(code);
    });
    child.once('error', (err) => {
      stop.abort();
      reject(
        new PatchbayError('sandbox_unavailable', `could not start ${child.spawnfile}: ${err.message}`, {
          cause: err,
        }),
      );
    });
  });
  return { exited, stopped: stop.signal, state, dispose };
}

/** Sends SIGKILL to a whole process group; a group already gone is not an error. */
export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: nothing left in the group.
  }
}

/**
 * Waits until stdout and stderr reach EOF, so the tail of the output is not lost; a process that escaped
 * the group (setsid) and still holds the pipes is cut off after a short grace instead of hanging the run.
 */
async function waitForDrain(child: ChildProcess): Promise<void> {
  const streams = [child.stdout, child.stderr].filter((s) => s !== null && !s.closed);
  if (streams.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, DRAIN_GRACE_MS);
  });
  const closed = Promise.all(
    streams.map((s) => new Promise<void>((resolve) => s?.once('close', () => resolve()))),
  );
  await Promise.race([closed, grace]);
  clearTimeout(timer);
  for (const s of streams) s?.destroy();
}

function emptyResult(over: Partial<SandboxRunResult>): SandboxRunResult {
  return {
    exitCode: null,
    output: '',
    droppedBytes: 0,
    timedOut: false,
    aborted: false,
    durationMs: 0,
    ...over,
  };
}

function since(started: number): number {
  return Math.round(performance.now() - started);
}
