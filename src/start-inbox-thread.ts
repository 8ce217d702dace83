import { Worker } from 'node:worker_threads';
import type { Logger } from './lib/logger.js';
import { runQueueWaitNs } from './lib/run-queue-wait.js';
import { type Running, type StartOptions, startPatchbay } from './main.js';

export interface InboxThread {
  /** The thread running now (tests end it, to see it started again). */
  current(): Worker | undefined;
  /** How the running thread yields the CPU, and its Linux thread id. */
  priority(): AppliedPriority;
  /** Asks every thread to finish what it handles and stop; ends each after 12 s. */
  stop(): Promise<void>;
}

/** `idle`: Linux's SCHED_IDLE; `nice`: a lowered priority (see yieldCpu in inbox-thread.ts). */
export type ThreadPriority = 'idle' | 'nice';

/** The priority a thread took (`unchanged`: it could not lower its own), and its Linux thread id. */
export interface AppliedPriority {
  applied: ThreadPriority | 'unchanged';
  tid?: number;
}

export interface InboxThreadOptions {
  /** How long a dead consumer's entries wait before this one takes them (default 30 s). */
  claimIdleMs?: number;
  /** Entries are read and never handled, as by a server that dies holding them (tests of a crash). */
  holdEntries?: boolean;
  /** How the thread yields the CPU to the server's (default `idle`). */
  priority?: ThreadPriority;
  /** How much lower the thread's CPU priority is than the server's at `nice` (Linux `nice`, default 10). */
  niceness?: number;
  /**
   * At `idle`: how long, within the last 2 s, the thread may have waited for a core (its run-queue
   * wait) before it is deemed starved and a thread at `nice` takes its place (default 1 s).
   */
  starvedAfterMs?: number;
}

/** What the thread tells the server once its consumer runs. */
export interface ThreadMessage extends AppliedPriority {
  type: 'ready';
}

/**
 * The thread's entry beside this module: compiled (dist/), or, run through tsx (`npm start`), the
 * TypeScript source behind a bootstrap that registers tsx's loader in the thread first (a worker
 * thread does not inherit the loader hooks of the thread that made it).
 */
function threadEntry(): { code: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith('.ts'))
    return { code: new URL('./inbox-thread.js', import.meta.url), eval: false };
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const entry = JSON.stringify(new URL('./inbox-thread.ts', import.meta.url).href);
  return { code: `import(${api}).then((tsx) => { tsx.register(); return import(${entry}); })`, eval: true };
}
const STOP_GRACE_MS = 12_000;
const RESTART_DELAY_MS = [1_000, 5_000, 30_000];
/** A thread that ran this long before it died starts again after the shortest delay. */
const HEALTHY_MS = 60_000;
/** A thread not ready this long after its start is ended, and another started. */
const READY_WITHIN_MS = 120_000;
/** The run-queue wait of an idle thread is read this often, and summed over the last WATCH_SAMPLES. */
const WATCH_EVERY_MS = 500;
const WATCH_SAMPLES = 4;

/** One thread started. */
interface ThreadRun {
  worker: Worker;
  exited: Promise<void>;
  priority: AppliedPriority;
  ready: boolean;
  /** When it became ready (ms since the epoch). */
  readyAt: number;
  /** Asked to stop (replaced, or the server stops): its end is expected. */
  retired: boolean;
}

/**
 * Keeps one inbox thread running: starts it again when it dies, and replaces a thread at idle
 * priority that starves (the machine busy with other work; an unprivileged thread cannot leave
 * SCHED_IDLE, a new one starts at the process's priority) by one at `nice`. Each thread that becomes
 * ready retires the one before it, which finishes what it holds (or is ended after the grace, its
 * entries then taken over after `claimIdleMs`); so at most one reads new entries for long.
 */
class InboxThreadKeeper implements InboxThread {
  private readonly runs = new Set<ThreadRun>();
  private running: ThreadRun | undefined;
  private stopping = false;
  private wanted: ThreadPriority;
  private failures = 0;
  private restart: NodeJS.Timeout | undefined;
  private watch: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly options: InboxThreadOptions,
  ) {
    this.wanted = options.priority ?? 'idle';
  }

  current(): Worker | undefined {
    return this.running?.worker;
  }

  priority(): AppliedPriority {
    return this.running?.priority ?? { applied: 'unchanged' };
  }

  /** Starts a thread; resolves once its consumer runs (it is then the running one). */
  launch(): Promise<void> {
    const entry = threadEntry();
    const workerData = { ...this.options, priority: this.wanted };
    const worker = new Worker(entry.code, { eval: entry.eval, workerData });
    const run: ThreadRun = {
      worker,
      exited: Promise.resolve(),
      priority: { applied: 'unchanged' },
      ready: false,
      readyAt: 0,
      retired: false,
    };
    // A start that hangs (Redis that never answers) ends, and its exit starts the backoff.
    const hung = setTimeout(() => void worker.terminate(), READY_WITHIN_MS);
    hung.unref();
    run.exited = new Promise<void>((resolve) =>
      worker.once('exit', () => {
        clearTimeout(hung);
        this.runs.delete(run);
        resolve();
      }),
    );
    this.runs.add(run);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (data: unknown) => {
        const message = data as Partial<ThreadMessage> | null;
        if (message?.type !== 'ready' || run.ready) return;
        clearTimeout(hung);
        run.ready = true;
        run.readyAt = Date.now();
        run.priority = { applied: message.applied ?? 'unchanged', tid: message.tid };
        if (this.stopping) {
          void this.retire(run);
          return reject(new Error('the server stopped while the inbox thread started'));
        }
        this.takeOver(run);
        resolve();
      });
      worker.on('error', (err) => {
        if (!run.ready) return reject(err);
        this.log.error({ err: err.message }, 'the inbox thread failed');
      });
      worker.on('exit', (code) => {
        if (!run.ready) return reject(new Error(`the inbox thread exited (${code}) before it was ready`));
        if (this.stopping || run.retired || run !== this.running) return;
        this.running = undefined;
        clearInterval(this.watch);
        if (Date.now() - run.readyAt >= HEALTHY_MS) this.failures = 0;
        this.log.error({ code }, 'the inbox thread stopped; starting it again');
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

  /** `run` is the running thread from now on; the one before it finishes and stops. */
  private takeOver(run: ThreadRun): void {
    const before = this.running;
    this.running = run;
    // A restart still waiting would only replace this one.
    clearTimeout(this.restart);
    this.restart = undefined;
    this.watchStarvation(run);
    if (before && before !== run) void this.retire(before);
  }

  /**
   * Starts a thread after the backoff (`now`: at once, as a replacement), again after each failure
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
          this.log.error({ err: err.message }, 'the inbox thread did not start; trying again');
          this.relaunch();
        });
    }, delay);
  }

  /** Asks a thread to finish what it handles and stop; ends it after the grace. */
  private retire(run: ThreadRun): Promise<void> {
    if (run.retired) return run.exited;
    run.retired = true;
    run.worker.postMessage('stop');
    const grace = setTimeout(() => void run.worker.terminate(), STOP_GRACE_MS);
    return run.exited.finally(() => clearTimeout(grace));
  }

  /**
   * An idle thread's run-queue wait, read from the server's thread: waiting for a core more than
   * `starvedAfterMs` in the last 2 s means the machine's other work leaves it next to nothing.
   */
  private watchStarvation(run: ThreadRun): void {
    clearInterval(this.watch);
    const { applied, tid } = run.priority;
    if (applied !== 'idle' || tid === undefined) return;
    const limitMs = this.options.starvedAfterMs ?? 1_000;
    const waits: number[] = [];
    let last = runQueueWaitNs(tid);
    this.watch = setInterval(() => {
      const now = runQueueWaitNs(tid);
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

  /** The idle thread starves: from now on threads run at `nice`, starting with one right away. */
  private replaceStarved(waitedMs: number): void {
    clearInterval(this.watch);
    if (this.stopping || this.wanted !== 'idle') return;
    this.wanted = 'nice';
    this.log.warn(
      { waitedMs: Math.round(waitedMs), withinMs: WATCH_EVERY_MS * WATCH_SAMPLES },
      'the inbox thread waited too long for a core at idle priority; a thread at nice takes its place',
    );
    this.relaunch(true);
  }
}

/**
 * Runs the inbox's consumer on a worker thread of the server's process (src/inbox-thread.ts), kept
 * running by an InboxThreadKeeper. Resolves once the thread's consumer runs; rejects when the first
 * start fails (Redis unreachable, a bad patchbay.yml), as the server's own start would.
 */
export async function startInboxThread(log: Logger, options: InboxThreadOptions = {}): Promise<InboxThread> {
  const keeper = new InboxThreadKeeper(log, options);
  await keeper.launch();
  return keeper;
}

/**
 * `patchbay start` and `patchbay server`: a server answers on its own event loop and consumes its
 * inbox on a thread (startInboxThread); a worker-only process has no inbox to consume.
 */
export async function startServing(opts: StartOptions, thread: InboxThreadOptions = {}): Promise<Running> {
  if (!opts.server) return startPatchbay(opts);
  const running = await startPatchbay({ ...opts, inbox: { ...opts.inbox, consume: false } });
  let consumer: InboxThread;
  try {
    consumer = await startInboxThread(opts.log, thread);
    // idle: answers take the CPU from it at once; nice: a lowered priority; unchanged: the server's.
    opts.log.info({ priority: consumer.priority().applied }, 'inbox consumer running on a thread of its own');
  } catch (err) {
    await running.stop();
    throw err;
  }
  return {
    ...running,
    async stop() {
      await Promise.all([running.stop(), consumer.stop()]);
    },
  };
}
