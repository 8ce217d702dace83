import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { loadConfig } from './config/load-config.js';
import { createLogger } from './lib/logger.js';
import { startPatchbay } from './main.js';
import type { InboxThreadOptions } from './start-inbox-thread.js';

/**
 * The inbox's consumer on a thread of its own (started by start-inbox-thread.ts in a server
 * process): the same composition as the server's, from the same environment and patchbay.yml, with
 * neither HTTP side nor worker. It turns accepted requests into tasks and jobs, and sends what follows
 * them (the 👀, the reply, the thread's history), on its own event loop, so that none of that work
 * delays the answers the server's loop gives Slack and the API. Imported anywhere but on such a
 * thread, it does nothing.
 */
async function runInboxThread(port: MessagePort, options: InboxThreadOptions): Promise<void> {
  lowerPriority(options.niceness ?? 10);
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
  port.on('message', (message: unknown) => {
    if (message !== 'stop') return;
    running.stop().finally(() => process.exit(0));
  });
  port.postMessage('ready');
}

/**
 * Linux schedules each thread on its own: this one (its id from /proc/thread-self) yields the CPU to
 * the server's thread when both want it, so that answers go first; on a machine with CPU to spare it
 * runs as fast as ever. Elsewhere, or where /proc is not mounted, it keeps its priority.
 */
function lowerPriority(niceness: number): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0 && niceness > 0) setPriority(tid, niceness);
  } catch {
    // not Linux, or no /proc: the same priority as the server's thread
  }
}

if (parentPort) await runInboxThread(parentPort, (workerData ?? {}) as InboxThreadOptions);
