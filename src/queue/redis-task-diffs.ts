import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { TaskDiffs } from '../domain/ports.js';

const StoredDiff = z.object({ files: z.array(z.string()), stat: z.string(), patch: z.string() });

/**
 * The diff of each task as JSON under `<prefix>diff:{<id>}`, replaced by the task's latest (work so far
 * at a question, then what it published), expiring with the task. Capped and redacted by the writer
 * before it gets here.
 */
export function createRedisTaskDiffs(deps: {
  redis: Redis;
  prefix: string;
  retentionDays: number;
}): TaskDiffs {
  const { redis, prefix } = deps;
  const ttl = deps.retentionDays * 86_400;
  const key = (id: string) => `${prefix}diff:{${id}}`;
  return {
    async put(taskId, diff) {
      await redis.set(key(taskId), JSON.stringify(diff), 'EX', ttl);
    },
    async get(taskId) {
      const raw = await redis.get(key(taskId));
      return raw ? StoredDiff.parse(JSON.parse(raw)) : null;
    },
  };
}
