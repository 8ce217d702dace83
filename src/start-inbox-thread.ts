import { Worker } from 'node:worker_threads';
import type { Logger } from './lib/logger.js';
import { type Running, type StartOptions, startPatchbay } from './main.js';

export interface InboxThread {
  /** The thread running now (tests end it, to see it started again). */
  current(): Worker | undefined;
  /** Asks the thread to finish what it handles and stop; ends it after 12 s. */
  stop(): Promise<void>;
}

export interface InboxThreadOptions {
  /** How long a dead consumer's entries wait before this one takes them (default 30 s). */
  claimIdleMs?: number;
  /** Entries are read and never handled, as by a server that dies holding them (tests of a crash). */
  holdEntries?: boolean;
  /** How much lower the thread's CPU priority is than the server's (Linux `nice`, default 10). */
  niceness?: number;
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

/**
 * Runs the inbox's consumer on a worker thread of the server's process (src/inbox-thread.ts), and
 * runs it again when the thread dies: what it had read and not handled is taken over after
 * `claimIdleMs`, as from a dead server. Resolves once the thread's consumer runs; rejects when the
 * first start fails (Redis unreachable, a bad patchbay.yml), as the server's own start would.
 */
export async function startInboxThread(log: Logger, options: InboxThreadOptions = {}): Promise<InboxThread> {
  let stopping = false;
  let current: { worker: Worker; exited: Promise<void> } | undefined;
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
          log.error({ err: err.message }, 'the inbox thread did not start; trying again');
          if (!stopping) relaunch();
        },
      );
    }, delay);
  }

  function spawn(): Promise<void> {
    const entry = threadEntry();
    const worker = new Worker(entry.code, { eval: entry.eval, workerData: options });
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    current = { worker, exited };
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (message) => {
        if (message !== 'ready') return;
        ready = true;
        resolve();
      });
      worker.on('error', (err) => {
        if (!ready) return reject(err);
        log.error({ err: err.message }, 'the inbox thread failed');
      });
      worker.on('exit', (code) => {
        if (!ready) return reject(new Error(`the inbox thread exited (${code}) before it was ready`));
        if (stopping) return;
        log.error({ code }, 'the inbox thread stopped; starting it again');
        relaunch();
      });
    });
  }

  await spawn();
  return {
    current: () => current?.worker,
    async stop() {
      stopping = true;
      clearTimeout(restart);
      if (!current) return;
      const { worker, exited } = current;
      worker.postMessage('stop');
      const grace = setTimeout(() => void worker.terminate(), STOP_GRACE_MS);
      await exited;
      clearTimeout(grace);
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
    opts.log.info('inbox consumer running on a thread of its own');
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
