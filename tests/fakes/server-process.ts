import { loadConfig } from '../../src/config/load-config.js';
import { createLogger } from '../../src/lib/logger.js';
import { startPatchbay } from '../../src/main.js';
import { startServing } from '../../src/start-inbox-thread.js';

/**
 * `patchbay server` as a process of its own, for tests that kill it: configured from its environment
 * like the CLI's, with the inbox's consumer as the test asks (`--hold`: entries are read and never
 * handled, as by a server that dies in the middle; `--claim-idle-ms=N`: how soon a dead consumer's
 * entries are taken over; `--consumer-in-loop`: the consumer on the server's own event loop, as
 * before it had a thread, for bench/ack.ts's comparison). Prints `{"port":N}` once it listens.
 */
const hold = process.argv.includes('--hold');
const inLoop = process.argv.includes('--consumer-in-loop');
const claimArg = process.argv.find((a) => a.startsWith('--claim-idle-ms='));
const config = await loadConfig(process.env);
const log = createLogger({ level: config.env.LOG_LEVEL });
const claimIdleMs = claimArg ? Number(claimArg.split('=')[1]) : undefined;
const holdEntries = hold ? () => new Promise<void>(() => undefined) : undefined;
// As `patchbay server` runs (the inbox's consumer on a thread of its own), or with it in the loop.
const running = inLoop
  ? await startPatchbay({
      config,
      log,
      server: true,
      worker: false,
      inbox: { claimIdleMs, beforeHandle: holdEntries },
    })
  : await startServing({ config, log, server: true, worker: false }, { claimIdleMs, holdEntries: hold });
process.stdout.write(`${JSON.stringify({ port: running.port })}\n`);
process.on('SIGTERM', () => {
  void running.stop().then(() => process.exit(0));
});
