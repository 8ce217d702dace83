import type { Redis } from 'ioredis';
import { ConversationState } from '../domain/conversation.js';
import { legacyAddress } from '../domain/legacy-audience.js';
import type { ConversationStore } from '../domain/ports.js';

/** A state stored by the previous version kept where the conversation began as an `origin` with a `ref`. */
function fromStored(raw: string): ConversationState {
  const stored = JSON.parse(raw) as Record<string, unknown>;
  if (stored.origin !== undefined && stored.beganIn === undefined) {
    stored.beganIn = legacyAddress(stored.origin, String(stored.repo ?? ''));
  }
  return ConversationState.parse(stored);
}

/** Conversation state under `<prefix>conv:<id>`; the pending question under `<prefix>conv-waiting:<id>`. */
export function createRedisConversationStore({
  redis,
  prefix,
  retentionDays,
}: {
  redis: Redis;
  prefix: string;
  retentionDays: number;
}): ConversationStore {
  const ttl = retentionDays * 86_400;
  const key = (id: string) => `${prefix}conv:${id}`;
  const waitingKey = (id: string) => `${prefix}conv-waiting:${id}`;
  const latestKey = (id: string) => `${prefix}conv-latest:${id}`;

  return {
    async get(id) {
      const raw = await redis.get(key(id));
      return raw ? fromStored(raw) : null;
    },
    async put(state) {
      await redis.set(key(state.id), JSON.stringify(ConversationState.parse(state)), 'EX', ttl);
    },
    async setWaiting(id, taskId) {
      await redis.set(waitingKey(id), taskId, 'EX', ttl);
    },
    async takeWaiting(id) {
      return redis.getdel(waitingKey(id));
    },
    async setLatest(id, taskId) {
      await redis.set(latestKey(id), taskId, 'EX', ttl);
    },
    async latest(id) {
      return redis.get(latestKey(id));
    },
    async clearWaiting(id, taskId) {
      // Only the task that waits may clear its own mark; a newer question stays.
      await redis.eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
        1,
        waitingKey(id),
        taskId,
      );
    },
  };
}
