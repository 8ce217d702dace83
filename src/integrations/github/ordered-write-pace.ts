import type { WritePace, WriteSlot } from '../../domain/write-pace.js';

/**
 * The writes of this process under one key take their slots in the order they asked (an urgent one
 * still goes ahead of them): a pace whose waiters poll would otherwise let a later write (a task's
 * reply) overtake an earlier one (the notice that the task started). Across processes the shared
 * pace decides; within one, what was said first is posted first.
 */
export function inArrivalOrder(pace: WritePace): WritePace {
  const tails = new Map<string, Promise<void>>();
  return {
    async acquire(key, opts): Promise<WriteSlot> {
      if (opts.urgent) return pace.acquire(key, opts);
      const before = tails.get(key) ?? Promise.resolve();
      let taken: () => void = () => undefined;
      const mine = new Promise<void>((resolve) => {
        taken = resolve;
      });
      const tail = before.then(() => mine);
      tails.set(key, tail);
      try {
        await before;
        return await pace.acquire(key, opts);
      } finally {
        taken();
        if (tails.get(key) === tail) tails.delete(key);
      }
    },
    holdOff: (key, ms) => pace.holdOff(key, ms),
  };
}
