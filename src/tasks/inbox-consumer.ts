import { PatchbayError } from '../domain/errors.js';
import type { InboxHandler, InboxReader, ReadEntry } from '../domain/inbox.js';
import type { Clock } from '../lib/clock.js';
import { settleWithin } from '../lib/deadline.js';
import type { Logger } from '../lib/logger.js';

export interface InboxConsumerDeps {
  reader: InboxReader;
  /** By entry kind; an entry of a kind nobody handles stays pending for a process that does. */
  handlers: Record<string, InboxHandler>;
  /** Seconds between an entry's acceptance and the start of its handling, by kind. */
  observeLag(kind: string, seconds: number): Promise<void>;
  clock: Clock;
  log: Logger;
  /** An entry pending this long is taken over from its consumer (presumed dead). Default 30 s. */
  claimIdleMs?: number;
  /** Runs before each entry's handler (tests hold entries there, as a stalled or dying server would). */
  beforeHandle?: (entry: ReadEntry) => Promise<void>;
  /** How long a read waits for new entries before looking at pending ones again. Default 2 s. */
  blockMs?: number;
}

const BATCH = 100;

/** An entry its handler cannot read (not a transient failure: handling it again fails again). */
function isMalformed(err: unknown): boolean {
  return err instanceof PatchbayError && err.permanent && err.code === 'invalid_request';
}
/** Entries handled at once: a slow one (Slack's thread history) holds up no other. */
const IN_FLIGHT = 64;

/**
 * Turns the inbox's entries into tasks, in the server process: new entries as they come, and those a
 * dead consumer left pending. An entry is acknowledged only after its handler made its task and job;
 * a handler that throws leaves it pending, and it is handled again after `claimIdleMs`. Handlers are
 * idempotent by the entry's task id, so handling twice makes one task.
 */
export function startInboxConsumer(deps: InboxConsumerDeps): { stop(): Promise<void> } {
  const { reader, log } = deps;
  const claimIdleMs = deps.claimIdleMs ?? 30_000;
  const blockMs = deps.blockMs ?? 2_000;
  let stopping = false;
  let lastReclaim = 0;
  const inFlight = new Map<string, Promise<void>>();

  async function handle(entry: ReadEntry): Promise<void> {
    const handler = deps.handlers[entry.kind];
    if (!handler) return log.warn({ kind: entry.kind }, 'inbox entry of an unknown kind left pending');
    const lag = Math.max(0, deps.clock.now() - entry.acceptedAt) / 1000;
    deps.observeLag(entry.kind, lag).catch(() => undefined);
    try {
      await deps.beforeHandle?.(entry);
      await handler(entry);
      await reader.ack(entry);
    } catch (err) {
      const meta = { taskId: entry.taskId, kind: entry.kind, err: (err as Error).message };
      if (!isMalformed(err)) return log.warn(meta, 'inbox entry not handled');
      // An entry no handler can read would be taken over and fail again forever: dropped, loudly.
      log.error(meta, 'inbox entry dropped: malformed');
      await reader.ack(entry).catch(() => undefined);
    }
  }

  function spawn(entries: ReadEntry[]): void {
    for (const entry of entries) {
      if (inFlight.has(entry.id)) continue; // taken over from ourselves: still being handled here
      const work = handle(entry).finally(() => inFlight.delete(entry.id));
      inFlight.set(entry.id, work);
    }
  }

  async function turn(): Promise<void> {
    if (inFlight.size >= IN_FLIGHT) {
      await Promise.race(inFlight.values());
      return;
    }
    if (deps.clock.now() - lastReclaim >= Math.min(claimIdleMs, 5_000)) {
      lastReclaim = deps.clock.now();
      const stale = await reader.reclaim(claimIdleMs, BATCH);
      if (stale.length > 0) log.info({ entries: stale.length }, 'inbox entries taken over');
      spawn(stale);
    }
    spawn(await reader.read(Math.min(BATCH, IN_FLIGHT - inFlight.size), blockMs));
  }

  let ready = false;
  const loop = (async () => {
    while (!stopping) {
      try {
        if (!ready) await reader.ensureGroup();
        ready = true;
        await turn();
      } catch (err) {
        if (stopping) break;
        log.warn({ err: (err as Error).message }, 'inbox read failed');
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  })();

  return {
    async stop() {
      stopping = true;
      reader.close();
      await loop.catch(() => undefined);
      // Whatever is not done by then stays pending: another consumer takes it over.
      await settleWithin(Promise.allSettled(inFlight.values()), 10_000);
    },
  };
}
