import type { WritePace } from '../../domain/write-pace.js';
import type { Logger } from '../../lib/logger.js';

/**
 * The write pace within one process (`patchbay run`, or when Redis cannot be asked): the same rule
 * (one write at a time, the gap after each answer) and the same precedence for urgent writes as the
 * shared pace, kept in memory.
 */
export function createLocalWritePace(gapMs: number): WritePace {
  const nextAt = new Map<string, number>();
  const busy = new Set<string>();
  const urgentWaiting = new Map<string, number>();
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const count = (key: string, by: number) => urgentWaiting.set(key, (urgentWaiting.get(key) ?? 0) + by);
  const release = (key: string) => async () => {
    busy.delete(key);
    nextAt.set(key, Math.max(nextAt.get(key) ?? 0, Date.now() + gapMs));
  };
  return {
    async acquire(key, { urgent }) {
      if (gapMs <= 0) return { at: Date.now(), release: async () => undefined };
      if (urgent) count(key, 1);
      try {
        for (;;) {
          const now = Date.now();
          const free = nextAt.get(key) ?? 0;
          const yieldToUrgent = !urgent && (urgentWaiting.get(key) ?? 0) > 0;
          if (now >= free && !busy.has(key) && !yieldToUrgent) {
            busy.add(key);
            return { at: now, release: release(key) };
          }
          await sleep(Math.max(free - now, 10));
        }
      } finally {
        if (urgent) count(key, -1);
      }
    },
    async holdOff(key, ms) {
      nextAt.set(key, Math.max(nextAt.get(key) ?? 0, Date.now() + ms));
    },
  };
}

/**
 * The shared pace, or this process's own while Redis does not answer: a GitHub write is not refused
 * because its limiter is unreachable (the queue itself notices Redis soon enough).
 */
export function withLocalFallback(shared: WritePace, local: WritePace, log: Logger): WritePace {
  const warn = (err: unknown) =>
    log.warn(
      { err: err instanceof Error ? err.message : String(err) },
      'github write pace unreachable, pacing locally',
    );
  return {
    acquire: (key, opts) =>
      shared.acquire(key, opts).catch((err) => {
        warn(err);
        return local.acquire(key, opts);
      }),
    holdOff: (key, ms) =>
      shared.holdOff(key, ms).catch((err) => {
        warn(err);
        return local.holdOff(key, ms);
      }),
  };
}
