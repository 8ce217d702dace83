import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type CancelTimer, type Clock, systemClock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';

export interface ConversationLease {
  /** Fires when the lease could not be renewed (Redis lost, or another holder took over after expiry). */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";
const RENEW =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";

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
    const holder = `${owner}:${randomBytes(8).toString('hex')}`;
    const ok = await redis.set(key(conversation), holder, 'PX', ttlMs, 'NX');
    if (ok !== 'OK') return null;
    const lost = new AbortController();
    const every = Math.max(250, Math.floor(ttlMs / 3));
    let stop: CancelTimer = () => undefined;
    async function renew(): Promise<void> {
      stop = clock.setTimer(renew, every); // a steady beat, whatever one renewal takes
      try {
        const renewed = await redis.eval(RENEW, 1, key(conversation), holder, String(ttlMs));
        if (renewed !== 1) throw new Error('lease taken over');
      } catch (err) {
        log.warn({ conversation, err: (err as Error).message }, 'conversation lease lost');
        stop();
        lost.abort('lock_lost');
      }
    }
    stop = clock.setTimer(renew, every);
    return {
      lost: lost.signal,
      async release() {
        stop();
        await redis.eval(RELEASE, 1, key(conversation), holder).catch(() => undefined);
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
