import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { CancelTimer, Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { workersKey } from './redis-metrics.js';

/** How often a worker says it is alive; the dashboard counts those heard within WORKER_ALIVE_MS. */
export const HEARTBEAT_MS = 5_000;
/** A worker not heard for this long is forgotten at the next beat of any worker. */
const FORGET_MS = 10 * 60_000;

/** `host:pid:random`: readable on the dashboard, unique even when a pid is reused. */
export function newWorkerId(): string {
  return `${hostname().slice(0, 60)}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * A worker process's heartbeat: its id in a sorted set scored by the time of its last beat (the
 * worker's clock), every HEARTBEAT_MS. Each beat drops workers silent for FORGET_MS and renews the
 * set's expiry, so the set holds only recent workers and disappears when none beats. `stop` says
 * goodbye (the id leaves the set at once); a worker that dies just stops beating.
 */
export async function startWorkerHeartbeat(deps: {
  redis: Redis;
  prefix: string;
  clock: Clock;
  log: Logger;
  id?: string;
  intervalMs?: number;
}) {
  const { redis, clock, log } = deps;
  const key = workersKey(deps.prefix);
  const id = deps.id ?? newWorkerId();
  let stopped = false;
  let cancel: CancelTimer = () => undefined;
  let beating: Promise<void> = Promise.resolve();

  async function beat(): Promise<void> {
    const now = clock.now();
    await redis
      .multi()
      .zadd(key, now, id)
      .zremrangebyscore(key, '-inf', now - FORGET_MS)
      .pexpire(key, FORGET_MS)
      .exec();
  }

  function next(): void {
    cancel = clock.setTimer(() => {
      beating = beat()
        .catch((err: Error) => log.warn({ err: err.message }, 'could not write the worker heartbeat'))
        .finally(() => {
          if (!stopped) next();
        });
    }, deps.intervalMs ?? HEARTBEAT_MS);
  }

  await beat();
  next();
  return {
    id,
    /** Resolves once the beat under way (if any) was written. */
    settled: () => beating,
    async stop(): Promise<void> {
      stopped = true;
      cancel();
      await beating;
      await redis.zrem(key, id);
    },
  };
}
export type WorkerHeartbeat = Awaited<ReturnType<typeof startWorkerHeartbeat>>;
