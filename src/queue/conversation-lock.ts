import type { Redis } from 'ioredis';
import { type CancelTimer, type Clock, systemClock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { tryLease } from './redis-lease.js';

export interface ConversationLease {
  /** Fires when the lease could not be renewed (Redis lost, or another holder took over after expiry). */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

/**
 * One agent per conversation: a Redis key with an expiry, renewed while its holder lives. A killed
 * worker stops renewing, so its lease expires within `ttlMs` and another worker takes the conversation.
 */
export function createConversationLock({
  redis,
  prefix,
  ttlMs,
  log,
  clock = systemClock,
}: {
  redis: Redis;
  prefix: string;
  ttlMs: number;
  log: Logger;
  clock?: Clock;
}) {
  const key = (conversation: string) => `${prefix}conv-lock:${conversation}`;
  const waitersKey = (conversation: string) => `${prefix}conv-waiters:${conversation}`;

  async function acquire(conversation: string, owner: string): Promise<ConversationLease | null> {
    // Unique per acquisition: a stalled attempt and its redelivery share a job id, never a lease.
    const lease = await tryLease(redis, key(conversation), ttlMs, owner);
    if (!lease) return null;
    const lost = new AbortController();
    const every = Math.max(250, Math.floor(ttlMs / 3));
    let stop: CancelTimer = () => undefined;
    const renew = async (): Promise<void> => {
      stop = clock.setTimer(renew, every); // a steady beat, whatever one renewal takes
      try {
        if (!(await lease.renew())) throw new Error('lease taken over');
      } catch (err) {
        log.warn({ conversation, err: (err as Error).message }, 'conversation lease lost');
        stop();
        lost.abort('lock_lost');
      }
    };
    stop = clock.setTimer(renew, every);
    return {
      lost: lost.signal,
      async release() {
        stop();
        await lease.release();
      },
    };
  }

  return {
    acquire,
    /** Remembers a job that waits for the conversation, so that the holder can wake it on release. */
    async addWaiter(conversation: string, jobId: string): Promise<void> {
      await redis
        .multi()
        .sadd(waitersKey(conversation), jobId)
        .pexpire(waitersKey(conversation), 86_400_000)
        .exec();
    },
    async takeWaiters(conversation: string): Promise<string[]> {
      const [[, members] = []] =
        (await redis.multi().smembers(waitersKey(conversation)).del(waitersKey(conversation)).exec()) ?? [];
      return (members as string[] | undefined) ?? [];
    },
  };
}
export type ConversationLock = ReturnType<typeof createConversationLock>;
