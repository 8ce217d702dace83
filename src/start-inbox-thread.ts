import { Worker } from 'node:worker_threads';
import type { Logger } from './lib/logger.js';
import { type Running, type StartOptions, startPatchbay } from './main.js';

export interface InboxThread {
  /** The thread running now (tests end it, to see it started again). */
  current(): Worker | undefined;
  /** How the running thread yields the CPU (`unchanged`: it could not), and its Linux thread id. */
  priority(): { applied: ThreadPriority | 'unchanged'; tid?: number };
  /** Asks the thread to finish what it handles and stop; ends it after 12 s. */
  stop(): Promise<void>;
}

/** `idle`: Linux's SCHED_IDLE; `nice`: a lowered priority (see yieldCpu in inbox-thread.ts). */
export type ThreadPriority = 'idle' | 'nice';

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
   * At `idle`: how much longer than the quickest a new entry may wait for the thread before it is
   * deemed starved and replaced by one at `nice` (default 2 s).
   */
  lateAfterMs?: number;
}

/** What the thread tells the server. */
export type ThreadMessage =
  | { type: 'ready'; applied: ThreadPriority | 'unchanged'; tid?: number }
  | { type: 'late' };

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

interface ThreadRun {
  worker: Worker;
  exited: Promise<void>;
  priority: { applied: ThreadPriority | 'unchanged'; tid?: number };
  /** Replaced by another: its end is expected. */
  retired: boolean;
}

/**
 * Runs the inbox's consumer on a worker thread of the server's process (src/inbox-thread.ts), and
 * runs it again when the thread dies: what it had read and not handled is taken over after
 * `claimIdleMs`, as from a dead server. A thread at idle priority that starves (the machine busy with
 * other work) is replaced by one at `nice`; the one it replaces finishes what it holds. Resolves once
 * the thread's consumer runs; rejects when the first start fails (Redis unreachable, a bad
 * patchbay.yml), as the server's own start would.
 */
export async function startInboxThread(log: Logger, options: InboxThreadOptions = {}): Promise<InboxThread> {
  let stopping = false;
  let priority: ThreadPriority = options.priority ?? 'idle';
  let current: ThreadRun | undefined;
  const retiring = new Set<ThreadRun>();
  let restart: NodeJS.Timeout | undefined;
  let failures = 0;

  function relaunch(): void {
    const delay = RESTART_DELAY_MS[Math.min(failures, RESTART_DELAY_MS.length - 1)];
    failures += 1;
    restart = setTimeout(() => {
      spawn().then(
        () => {
          failures = 0;
        },
        (err: Error) => {
          if (stopping) return;
          log.error({ err: err.message }, 'the inbox thread did not start; trying again');
          relaunch();
        },
      );
    }, delay);
  }

  /** Asks a thread to finish what it handles and stop; ends it after the grace. */
  async function retire(thread: ThreadRun): Promise<void> {
    thread.retired = true;
    retiring.add(thread);
    thread.worker.postMessage('stop');
    const grace = setTimeout(() => void thread.worker.terminate(), STOP_GRACE_MS);
    await thread.exited;
    clearTimeout(grace);
    retiring.delete(thread);
  }

  /** The thread starves at idle priority: one at `nice` takes its place. */
  function starved(thread: ThreadRun): void {
    if (stopping || thread.retired || thread !== current || priority !== 'idle') return;
    priority = 'nice';
    log.warn(
      { lateAfterMs: options.lateAfterMs ?? 2_000 },
      'the inbox thread waited too long for a core at idle priority (the machine is busy); a thread at a lowered priority (nice) takes over',
    );
    spawn().then(
      () => retire(thread),
      (err: Error) =>
        log.error({ err: err.message }, 'the inbox thread at nice did not start; the idle one goes on'),
    );
  }

  function spawn(): Promise<void> {
    const entry = threadEntry();
    const worker = new Worker(entry.code, { eval: entry.eval, workerData: { ...options, priority } });
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const thread: ThreadRun = { worker, exited, priority: { applied: 'unchanged' }, retired: false };
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (message: ThreadMessage) => {
        if (message.type === 'late') return starved(thread);
        if (message.type !== 'ready') return;
        ready = true;
        thread.priority = { applied: message.applied, tid: message.tid };
        if (stopping) {
          void retire(thread);
          return reject(new Error('stopped while the inbox thread started'));
        }
        current = thread;
        resolve();
      });
      worker.on('error', (err) => {
        if (!ready) return reject(err);
        log.error({ err: err.message }, 'the inbox thread failed');
      });
      worker.on('exit', (code) => {
        if (!ready) return reject(new Error(`the inbox thread exited (${code}) before it was ready`));
        if (stopping || thread.retired) return;
        log.error({ code }, 'the inbox thread stopped; starting it again');
        relaunch();
      });
    });
  }

  await spawn();
  return {
    current: () => current?.worker,
    priority: () => current?.priority ?? { applied: 'unchanged' },
    async stop() {
      stopping = true;
      clearTimeout(restart);
      await Promise.all([...(current ? [retire(current)] : []), ...[...retiring].map((t) => t.exited)]);
    },
  };
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
    const { applied } = consumer.priority();
    const how = {
      idle: 'at idle priority (answers take the CPU from it at once)',
      nice: `at a lowered priority (nice ${thread.niceness ?? 10})`,
      unchanged: "at the server's priority (its own could not be lowered here)",
    }[applied];
    opts.log.info({ priority: applied }, `inbox consumer running on a thread of its own, ${how}`);
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
