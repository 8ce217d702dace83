import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/lib/logger.js';
import { type InboxPriority, startServing } from '../../src/start-inbox-process.js';

/**
 * `patchbay server` as a process of its own, for tests that kill it: configured from its environment
 * like the CLI's, with the inbox's consumer as the test asks (`--hold`: entries are read and never
 * handled, as by a server that dies in the middle; `--claim-idle-ms=N`: how soon a dead consumer's
 * entries are taken over; `--inbox-priority=idle|nice`: how the consumer's process yields the CPU (default nice),
 * for bench/ack.ts's comparison). Prints `{"port":N,"inboxPid":M}` once it listens.
 */
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const hold = process.argv.includes('--hold');
const config = await loadConfig(process.env);
const log = createLogger({ level: config.env.LOG_LEVEL });
const claimIdleMs = arg('claim-idle-ms') ? Number(arg('claim-idle-ms')) : undefined;
const priority = arg('inbox-priority') as InboxPriority | undefined;
const running = await startServing(
  { config, log, server: true, worker: false },
  { claimIdleMs, holdEntries: hold, priority },
);
process.stdout.write(`${JSON.stringify({ port: running.port, inboxPid: running.inbox?.current()?.pid })}\n`);
process.on('SIGTERM', () => {
  void running.stop().then(() => process.exit(0));
});
