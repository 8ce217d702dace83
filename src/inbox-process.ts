import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { runQueueWaitNs } from './lib/run-queue-wait.js';
import type { InboxPriority, InboxProcessOptions, ProcessMessage } from './start-inbox-process.js';

/** The argument that makes this module run (its options follow, as JSON); start-inbox-process.ts passes it. */
export const INBOX_PROCESS_FLAG = '--patchbay-inbox-process';
/** A stop that takes longer (Redis unreachable, a Slack call hanging) ends the process anyway. */
const STOP_WITHIN_MS = 8_000;

/**
 * The inbox's consumer in a process of its own (started by start-inbox-process.ts from a server, which
 * it reports to over Node's IPC channel): the same composition as the server's, from the same
 * environment and patchbay.yml, with neither HTTP side nor worker. It turns accepted requests into
 * tasks and jobs, and sends what follows them (the 👀, the reply, the thread's history), at a priority
 * below the server's, so that none of that work delays the answers the server gives Slack and the
 * API: the process's every thread yields, V8's garbage collection and compilation threads included,
 * which a thread of the server's own process could not make yield. It stops when the server asks,
 * on SIGTERM or SIGINT, and when the server is gone (the IPC channel closes); within 8 s. Run any
 * other way, this module does nothing.
 */
async function runInboxProcess(options: InboxProcessOptions): Promise<void> {
  // Listening before anything slow is loaded: a stop asked for during the start is not missed.
  let stop: () => void = () => process.exit(0);
  let stopping = false;
  const stopOnce = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), STOP_WITHIN_MS).unref();
    stop();
  };
  process.on('message', (message: unknown) => {
    if (message === 'stop') stopOnce();
  });
  process.on('disconnect', stopOnce);
  process.on('SIGTERM', stopOnce);
  process.on('SIGINT', stopOnce);
  if (!process.connected) return stopOnce(); // the server died before this line

  const priority = yieldCpu(options.priority ?? 'nice', options.niceness ?? 10);
  const [{ loadConfig }, { createLogger }, { startPatchbay }] = await Promise.all([
    import('./config/load-config.js'),
    import('./lib/logger.js'),
    import('./main.js'),
  ]);
  const config = await loadConfig(process.env);
  const log = createLogger({ level: config.env.LOG_LEVEL }).child({ process: 'inbox' });
  // The server said at its start what is on and off; this process's start would say it again.
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
  stop = () => {
    running.stop().finally(() => process.exit(0));
  };
  if (stopping) return stop();
  // The channel may close before the message is sent: then the server is gone, and so is this.
  process.send?.(priority satisfies ProcessMessage, undefined, undefined, (err) => {
    if (err) stopOnce();
  });
}

/**
 * Linux schedules each thread on its own: each of this process's threads (those V8 started before
 * any of this ran included; threads started later inherit their maker's) yields the CPU to the
 * server's, so that answers go first; on a machine with CPU to spare it runs as fast as ever. `nice`
 * (the default): a lowered priority (weight), the process still gets its share of a busy machine.
 * `idle` (SCHED_IDLE, set with util-linux's `chrt --all-tasks`): the process runs only on a core
 * nothing else wants, and a thread waking up to answer takes the core from it at once; only where
 * the server can see the process starve (its run-queue wait in /proc's schedstat) and replace it,
 * else nice. Elsewhere than Linux, or without /proc, unchanged.
 */
function yieldCpu(wanted: InboxPriority, niceness: number): ProcessMessage {
  const pid = process.pid;
  let threads: number[];
  try {
    threads = readdirSync('/proc/self/task').map(Number);
  } catch {
    return { type: 'ready', applied: 'unchanged', pid }; // not Linux, or no /proc
  }
  if (wanted === 'idle' && runQueueWaitNs(pid) !== undefined) {
    const chrt = spawnSync('chrt', ['--all-tasks', '--idle', '--pid', '0', String(pid)], {
      stdio: 'ignore',
      timeout: 5_000,
    });
    if (chrt.status === 0) return { type: 'ready', applied: 'idle', pid };
  }
  if (niceness <= 0) return { type: 'ready', applied: 'unchanged', pid };
  // Below the server's own priority (which the process inherited), whatever that is.
  const nice = Math.min(19, getPriority() + niceness);
  try {
    setPriority(pid, nice);
  } catch {
    return { type: 'ready', applied: 'unchanged', pid };
  }
  for (const tid of threads) {
    try {
      setPriority(tid, nice);
    } catch {
      // a thread that ended since the listing
    }
  }
  return { type: 'ready', applied: 'nice', pid };
}

if (process.send && process.argv[2] === INBOX_PROCESS_FLAG) {
  await runInboxProcess(JSON.parse(process.argv[3] ?? '{}') as InboxProcessOptions);
}
