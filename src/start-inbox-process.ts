import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { INBOX_PROCESS_FLAG } from './inbox-process.js';
import type { Logger } from './lib/logger.js';
import { runQueueWaitNs } from './lib/run-queue-wait.js';
import { type Running, type StartOptions, startPatchbay } from './main.js';

export interface InboxProcess {
  /** The process running now (tests kill it, to see it started again). */
  current(): ChildProcess | undefined;
  /** How the running process yields the CPU, and its process id. */
  priority(): AppliedPriority;
  /** Asks every process to finish what it handles and stop; kills each after 9 s. */
  stop(): Promise<void>;
}

/** `idle`: Linux's SCHED_IDLE; `nice`: a lowered priority (see yieldCpu in inbox-process.ts). */
export type InboxPriority = 'idle' | 'nice';

/** The priority a process took (`unchanged`: it could not lower its own), and its process id. */
export interface AppliedPriority {
  applied: InboxPriority | 'unchanged';
  pid?: number;
}

export interface InboxProcessOptions {
  /** How long a dead consumer's entries wait before this one takes them (default 30 s). */
  claimIdleMs?: number;
  /** Entries are read and never handled, as by a server that dies holding them (tests of a crash). */
  holdEntries?: boolean;
  /**
   * How the process yields the CPU to the server's: `nice` (the default), or `idle` (SCHED_IDLE, with
   * a watch that replaces a starving process by one at `nice`).
   */
  priority?: InboxPriority;
  /** How much lower the process's CPU priority is than the server's at `nice` (Linux `nice`, default 10). */
  niceness?: number;
  /**
   * At `idle`: how long, within the last 2 s, the process's main thread may have waited for a core
   * (its run-queue wait) before it is deemed starved and a process at `nice` takes its place
   * (default 1 s).
   */
  starvedAfterMs?: number;
}

/** What the process tells the server once its consumer runs. */
export interface ProcessMessage extends AppliedPriority {
  type: 'ready';
}

/**
 * The process's entry beside this module: compiled (dist/), with the server's own Node flags
 * (`--max-old-space-size`, …; not an inspector's, whose port the server holds), or, run through tsx
 * (`npm start`, the tests), the TypeScript source with tsx's loader.
 */
function processEntry(): { file: string; execArgv: string[] } {
  const compiled = !import.meta.url.endsWith('.ts');
  const file = fileURLToPath(
    new URL(compiled ? './inbox-process.js' : './inbox-process.ts', import.meta.url),
  );
  if (!compiled) return { file, execArgv: ['--import', import.meta.resolve('tsx')] };
  return { file, execArgv: process.execArgv.filter((flag) => !/^--inspect/.test(flag)) };
}

/** Inbox processes not yet ended: killed when the server exits without having stopped them. */
const living = new Set<ChildProcess>();
let killOnExit = false;
function track(child: ChildProcess): void {
  living.add(child);
  child.once('exit', () => living.delete(child));
  if (killOnExit) return;
  killOnExit = true;
  // A server that gives up its graceful stop (cli.ts: after 9.5 s, or a second signal) leaves none behind.
  process.once('exit', () => {
    for (const c of living) c.kill('SIGKILL');
  });
}

/** Below cli.ts's 9.5 s forced exit, and above the process's own 8 s limit on its stop. */
const STOP_GRACE_MS = 9_000;
const RESTART_DELAY_MS = [1_000, 5_000, 30_000];
/** A process that ran this long before it died starts again after the shortest delay. */
const HEALTHY_MS = 60_000;
/** A process not ready this long after its start is killed, and another started. */
const READY_WITHIN_MS = 120_000;
/** The run-queue wait of an idle process is read this often, and summed over the last WATCH_SAMPLES. */
const WATCH_EVERY_MS = 500;
const WATCH_SAMPLES = 4;

/** One process started. */
interface ProcessRun {
  child: ChildProcess;
  exited: Promise<void>;
  priority: AppliedPriority;
  ready: boolean;
  /** When it became ready (ms since the epoch). */
  readyAt: number;
  /** Asked to stop (replaced, or the server stops): its end is expected. */
  retired: boolean;
}

/**
 * Keeps one inbox process running: starts it again when it dies, and (when asked for idle priority)
 * replaces a process at idle priority that starves (the machine busy with other work; an unprivileged process cannot leave
 * SCHED_IDLE, a new one starts at the server's priority) by one at `nice`. Each process that becomes
 * ready retires the one before it, which finishes what it holds (or is killed after the grace, its
 * entries then taken over after `claimIdleMs`); so at most one reads new entries for long.
 */
class InboxProcessKeeper implements InboxProcess {
  private readonly runs = new Set<ProcessRun>();
  private running: ProcessRun | undefined;
  private stopping = false;
  private wanted: InboxPriority;
  private failures = 0;
  private restart: NodeJS.Timeout | undefined;
  private watch: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly options: InboxProcessOptions,
  ) {
    this.wanted = options.priority ?? 'nice';
  }

  current(): ChildProcess | undefined {
    return this.running?.child;
  }

  priority(): AppliedPriority {
    return this.running?.priority ?? { applied: 'unchanged' };
  }

  /** Starts a process; resolves once its consumer runs (it is then the running one). */
  launch(): Promise<void> {
    const entry = processEntry();
    const options = { ...this.options, priority: this.wanted };
    const child = fork(entry.file, [INBOX_PROCESS_FLAG, JSON.stringify(options)], {
      execArgv: entry.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    track(child);
    const run: ProcessRun = {
      child,
      exited: Promise.resolve(),
      priority: { applied: 'unchanged' },
      ready: false,
      readyAt: 0,
      retired: false,
    };
    // A start that hangs (Redis that never answers) is killed, and its exit starts the backoff.
    const hung = setTimeout(() => child.kill('SIGKILL'), READY_WITHIN_MS);
    hung.unref();
    run.exited = new Promise<void>((resolve) => {
      const ended = () => {
        clearTimeout(hung);
        this.runs.delete(run);
        resolve();
      };
      child.once('exit', ended);
      // A process that could not be started at all never exits.
      child.once('error', () => {
        if (child.pid === undefined) ended();
      });
    });
    this.runs.add(run);
    return new Promise<void>((resolve, reject) => {
      child.on('message', (data: unknown) => {
        const message = data as Partial<ProcessMessage> | null;
        if (message?.type !== 'ready' || run.ready) return;
        clearTimeout(hung);
        run.ready = true;
        run.readyAt = Date.now();
        run.priority = { applied: message.applied ?? 'unchanged', pid: child.pid };
        if (this.stopping) {
          // Asked again: a stop sent while it started may have come before it listened.
          if (child.connected) child.send('stop', () => undefined);
          void this.retire(run);
          return reject(new Error('the server stopped while the inbox process started'));
        }
        this.takeOver(run);
        resolve();
      });
      child.on('error', (err) => {
        if (!run.ready) return reject(err);
        this.log.error({ err: err.message }, 'the inbox process failed');
      });
      child.on('exit', (code, signal) => {
        if (!run.ready) {
          return reject(new Error(`the inbox process exited (${signal ?? code}) before it was ready`));
        }
        if (this.stopping || run.retired || run !== this.running) return;
        this.running = undefined;
        clearInterval(this.watch);
        if (Date.now() - run.readyAt >= HEALTHY_MS) this.failures = 0;
        this.log.error({ code, signal }, 'the inbox process stopped; starting it again');
        this.relaunch();
      });
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restart);
    clearInterval(this.watch);
    this.running = undefined;
    await Promise.all([...this.runs].map((run) => this.retire(run)));
  }

  /** `run` is the running process from now on; the one before it finishes and stops. */
  private takeOver(run: ProcessRun): void {
    const before = this.running;
    this.running = run;
    // A restart still waiting would only replace this one.
    clearTimeout(this.restart);
    this.restart = undefined;
    this.watchStarvation(run);
    if (before && before !== run) void this.retire(before);
  }

  /**
   * Starts a process after the backoff (`now`: at once, as a replacement), again after each failure
   * until one runs where none does, or, wanted at `nice`, where the one running is idle.
   */
  private relaunch(now = false): void {
    if (this.stopping || this.restart) return;
    const delay = now ? 0 : RESTART_DELAY_MS[Math.min(this.failures, RESTART_DELAY_MS.length - 1)];
    if (!now) this.failures += 1;
    this.restart = setTimeout(() => {
      this.restart = undefined;
      Promise.resolve()
        .then(() => this.launch())
        .catch((err: Error) => {
          const wanted =
            !this.running || (this.wanted === 'nice' && this.running.priority.applied === 'idle');
          if (this.stopping || !wanted) return;
          this.log.error({ err: err.message }, 'the inbox process did not start; trying again');
          this.relaunch();
        });
    }, delay);
  }

  /** Asks a process to finish what it handles and stop; kills it after the grace. */
  private retire(run: ProcessRun): Promise<void> {
    if (run.retired) return run.exited;
    run.retired = true;
    // A process whose channel closed already (it is ending) cannot be told: the grace still holds.
    if (run.child.connected) run.child.send('stop', () => undefined);
    const grace = setTimeout(() => run.child.kill('SIGKILL'), STOP_GRACE_MS);
    return run.exited.finally(() => clearTimeout(grace));
  }

  /**
   * An idle process's run-queue wait (its main thread's, where its consumer runs), read by the
   * server: waiting for a core more than `starvedAfterMs` in the last 2 s means the machine's other
   * work leaves it next to nothing.
   */
  private watchStarvation(run: ProcessRun): void {
    clearInterval(this.watch);
    const { applied, pid } = run.priority;
    if (applied !== 'idle' || pid === undefined) return;
    const limitMs = this.options.starvedAfterMs ?? 1_000;
    const waits: number[] = [];
    let last = runQueueWaitNs(pid, pid);
    this.watch = setInterval(() => {
      const now = runQueueWaitNs(pid, pid);
      if (now === undefined || last === undefined) {
        last = now;
        return;
      }
      waits.push((now - last) / 1e6);
      last = now;
      if (waits.length > WATCH_SAMPLES) waits.shift();
      const waitedMs = waits.reduce((a, b) => a + b, 0);
      if (waitedMs > limitMs) this.replaceStarved(waitedMs);
    }, WATCH_EVERY_MS);
    this.watch.unref();
  }

  /** The idle process starves: from now on processes run at `nice`, starting with one right away. */
  private replaceStarved(waitedMs: number): void {
    clearInterval(this.watch);
    if (this.stopping || this.wanted !== 'idle') return;
    this.wanted = 'nice';
    this.log.warn(
      { waitedMs: Math.round(waitedMs), withinMs: WATCH_EVERY_MS * WATCH_SAMPLES },
      'the inbox process waited too long for a core at idle priority; a process at nice takes its place',
    );
    this.relaunch(true);
  }
}

/**
 * Runs the inbox's consumer in a process of its own (src/inbox-process.ts), kept running by an
 * InboxProcessKeeper. Resolves once the process's consumer runs; rejects when the first start fails
 * (Redis unreachable, a bad patchbay.yml), as the server's own start would.
 */
export async function startInboxProcess(
  log: Logger,
  options: InboxProcessOptions = {},
): Promise<InboxProcess> {
  const keeper = new InboxProcessKeeper(log, options);
  await keeper.launch();
  return keeper;
}

/** A running Patchbay, and the process that consumes a server's inbox (none for a worker alone). */
export type Serving = Running & { inbox: InboxProcess | undefined };

/**
 * `patchbay start` and `patchbay server`: a server answers on its own event loop and consumes its
 * inbox in a process of its own (startInboxProcess); a worker-only process has no inbox to consume.
 */
export async function startServing(opts: StartOptions, inbox: InboxProcessOptions = {}): Promise<Serving> {
  if (!opts.server) return { ...(await startPatchbay(opts)), inbox: undefined };
  const running = await startPatchbay({ ...opts, inbox: { ...opts.inbox, consume: false } });
  let consumer: InboxProcess;
  try {
    consumer = await startInboxProcess(opts.log, inbox);
    // idle: answers take the CPU from it at once; nice: a lowered priority; unchanged: the server's.
    const { applied, pid } = consumer.priority();
    opts.log.info({ priority: applied, inboxPid: pid }, 'inbox consumer running in a process of its own');
  } catch (err) {
    await running.stop();
    throw err;
  }
  return {
    ...running,
    inbox: consumer,
    async stop() {
      await Promise.all([running.stop(), consumer.stop()]);
    },
  };
}
