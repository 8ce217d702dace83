import type { Redis } from 'ioredis';
import type { CancelBus } from '../domain/ports.js';
import { duplicateRedis } from './redis-connection.js';

/**
 * Cancellation across processes: a flag (for a worker that checks late) plus a pub/sub message (for
 * the one running the task now). Whoever runs the task aborts it within a moment of the request.
 */
export function createRedisCancelBus({ redis, prefix }: { redis: Redis; prefix: string }) {
  const flagKey = (taskId: string) => `${prefix}cancel:${taskId}`;
  const channel = `${prefix}cancel`;
  const watchers = new Map<string, Set<() => void>>();
  let subscriber: Redis | undefined;

  async function ensureSubscriber(): Promise<void> {
    if (subscriber) return;
    // The shared connection may refuse to queue commands while connecting; this one may.
    subscriber = duplicateRedis(redis, { enableOfflineQueue: true });
    subscriber.on('message', (_channel: string, taskId: string) => {
      for (const fn of watchers.get(taskId) ?? []) fn();
    });
    await subscriber.subscribe(channel);
  }

  const bus: CancelBus & {
    isRequested(taskId: string): Promise<boolean>;
    watch(taskId: string, onCancel: () => void): Promise<() => void>;
    close(): Promise<void>;
  } = {
    async request(taskId) {
      await redis.multi().set(flagKey(taskId), '1', 'EX', 86_400).publish(channel, taskId).exec();
    },
    async isRequested(taskId) {
      return (await redis.exists(flagKey(taskId))) === 1;
    },
    async watch(taskId, onCancel) {
      await ensureSubscriber();
      const set = watchers.get(taskId) ?? new Set();
      set.add(onCancel);
      watchers.set(taskId, set);
      if (await bus.isRequested(taskId)) onCancel();
      return () => {
        set.delete(onCancel);
        if (!set.size) watchers.delete(taskId);
      };
    },
    async close() {
      await subscriber?.quit().catch(() => undefined);
      subscriber = undefined;
    },
  };
  return bus;
}
export type RedisCancelBus = ReturnType<typeof createRedisCancelBus>;
