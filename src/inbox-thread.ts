import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { loadConfig } from './config/load-config.js';
import { createLogger } from './lib/logger.js';
import { runQueueWaitNs } from './lib/run-queue-wait.js';
import { startPatchbay } from './main.js';
import type { InboxThreadOptions, ThreadMessage, ThreadPriority } from './start-inbox-thread.js';

/**
 * The inbox's consumer on a thread of its own (started by start-inbox-thread.ts in a server
 * process): the same composition as the server's, from the same environment and patchbay.yml, with
 * neither HTTP side nor worker. It turns accepted requests into tasks and jobs, and sends what follows
 * them (the 👀, the reply, the thread's history), on its own event loop, so that none of that work
 * delays the answers the server's loop gives Slack and the API. Imported anywhere but on such a
 * thread, it does nothing.
 */
async function runInboxThread(port: MessagePort, options: InboxThreadOptions): Promise<void> {
  const priority = yieldCpu(options.priority ?? 'idle', options.niceness ?? 10);
  const config = await loadConfig(process.env);
  const log = createLogger({ level: config.env.LOG_LEVEL }).child({ thread: 'inbox' });
  // The server said at its start what is on and off; the thread's start would say it again.
  const level = log.level;
  if (log.isLevelEnabled('info')) log.level = 'warn';
  const running = await startPatchbay({
    config,
    log,
    server: false,
    worker: false,
    inbox: {
      consume: true,
      claimIdleMs: options.claimIdleMs,
      beforeHandle: options.holdEntries ? () => new Promise<void>(() => undefined) : undefined,
    },
  });
  log.level = level;
  let stopping = false;
  port.on('message', (message: unknown) => {
    if (message !== 'stop' || stopping) return;
    stopping = true;
    running.stop().finally(() => process.exit(0));
  });
  port.postMessage(priority satisfies ThreadMessage);
}

/**
 * Linux schedules each thread on its own: this one (its id from /proc/thread-self) yields the CPU to
 * the server's thread, so that answers go first; on a machine with CPU to spare it runs as fast as
 * ever. `idle` (SCHED_IDLE, set with util-linux's `chrt`): the thread runs only on a core nothing
 * else wants, and a thread waking up to answer takes the core from it at once; `nice`: a lowered
 * priority (weight) that still makes an answer wait up to a time slice behind it. Idle only where
 * the server can see the thread starve (its run-queue wait in /proc's schedstat) and replace it;
 * else nice; elsewhere than Linux, or without /proc, unchanged.
 */
function yieldCpu(wanted: ThreadPriority, niceness: number): ThreadMessage {
  let tid: number;
  try {
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return { type: 'ready', applied: 'unchanged' }; // not Linux, or no /proc
  }
  if (!Number.isInteger(tid) || tid <= 0) return { type: 'ready', applied: 'unchanged' };
  if (wanted === 'idle' && runQueueWaitNs(tid) !== undefined) {
    const chrt = spawnSync('chrt', ['--idle', '--pid', '0', String(tid)], {
      stdio: 'ignore',
      timeout: 5_000,
    });
    if (chrt.status === 0) return { type: 'ready', applied: 'idle', tid };
  }
  if (niceness <= 0) return { type: 'ready', applied: 'unchanged', tid };
  try {
    setPriority(tid, niceness);
    return { type: 'ready', applied: 'nice', tid };
  } catch {
    return { type: 'ready', applied: 'unchanged', tid };
  }
}

if (parentPort) await runInboxThread(parentPort, (workerData ?? {}) as InboxThreadOptions);
