import type { Redis } from 'ioredis';
import type { ScheduleState, ScheduleStore } from '../domain/schedule.js';

/** A schedule unused for a year is forgotten; every write starts the year again. */
const STATE_TTL_S = 365 * 86_400;
const THREAD_TTL_S = 7 * 86_400;

/** Counts an outcome once per task: failures grow with a failure and start again with a success. */
const RECORD_OUTCOME = `
if redis.call('hget', KEYS[1], 'countedTask') == ARGV[1] then
  return tonumber(redis.call('hget', KEYS[1], 'failures') or '0')
end
redis.call('hset', KEYS[1], 'countedTask', ARGV[1], 'lastOutcome', ARGV[2])
local failures = tonumber(redis.call('hget', KEYS[1], 'failures') or '0')
if ARGV[2] == 'failed' then
  failures = redis.call('hincrby', KEYS[1], 'failures', 1)
elseif ARGV[2] == 'succeeded' then
  failures = 0
  redis.call('hset', KEYS[1], 'failures', 0)
end
redis.call('expire', KEYS[1], ARGV[3])
return failures`;

/** Sets `paused` to 1 with its reason unless it is 1 already; 1 when this call paused it. */
const PAUSE = `
if redis.call('hget', KEYS[1], 'paused') == '1' then return 0 end
redis.call('hset', KEYS[1], 'paused', '1', 'pausedBy', ARGV[1])
redis.call('expire', KEYS[1], ARGV[2])
return 1`;

const RESUME = `
local was = redis.call('hget', KEYS[1], 'paused')
redis.call('hset', KEYS[1], 'paused', '0', 'failures', 0)
redis.call('hdel', KEYS[1], 'pausedBy')
redis.call('expire', KEYS[1], ARGV[1])
if was == '1' then return 1 end
return 0`;

/** Moves from generation ARGV[1] to the next one; whoever comes second finds it moved already. */
const NEXT_GENERATION = `
local current = tonumber(redis.call('hget', KEYS[1], 'generation') or '1')
if current == tonumber(ARGV[1]) then
  current = current + 1
  redis.call('hset', KEYS[1], 'generation', current)
  redis.call('expire', KEYS[1], ARGV[2])
end
return current`;

/**
 * Schedule state: `<prefix>schedule:{<name>}`, a hash (paused, pausedBy, failures, generation, the
 * last run, the last outcome), and the thread of each tick's run beside it. Each change is one
 * command or one script, so that processes handling ticks and outcomes at once never lose an update.
 */
export function createRedisScheduleStore({ redis, prefix }: { redis: Redis; prefix: string }): ScheduleStore {
  const key = (name: string) => `${prefix}schedule:{${name}}`;
  const threadKey = (name: string, tick: number) => `${prefix}schedule-thread:{${name}}:${tick}`;

  return {
    async get(name) {
      const raw = await redis.hgetall(key(name));
      return toState(name, raw);
    },
    async recordRun(name, run) {
      await redis
        .multi()
        .hset(key(name), 'lastTick', run.tick, 'lastTask', run.taskId, 'lastConversation', run.conversation)
        .expire(key(name), STATE_TTL_S)
        .exec();
    },
    async nextGeneration(name, from) {
      return Number(await redis.eval(NEXT_GENERATION, 1, key(name), from, STATE_TTL_S));
    },
    async recordOutcome(name, taskId, outcome) {
      return Number(await redis.eval(RECORD_OUTCOME, 1, key(name), taskId, outcome, STATE_TTL_S));
    },
    async pause(name, by) {
      return (await redis.eval(PAUSE, 1, key(name), by, STATE_TTL_S)) === 1;
    },
    async resume(name) {
      return (await redis.eval(RESUME, 1, key(name), STATE_TTL_S)) === 1;
    },
    threadOfTick: (name, tick) => redis.get(threadKey(name, tick)),
    async keepThreadOfTick(name, tick, thread) {
      await redis.set(threadKey(name, tick), thread, 'EX', THREAD_TTL_S);
    },
    async remove(name) {
      await redis.del(key(name));
    },
  };
}

function toState(name: string, raw: Record<string, string>): ScheduleState {
  const pausedBy = raw.pausedBy === 'failures' || raw.pausedBy === 'person' ? raw.pausedBy : undefined;
  const outcome = raw.lastOutcome;
  const state: ScheduleState = {
    name,
    paused: raw.paused === '1',
    pausedBy,
    failuresInRow: Number(raw.failures ?? 0),
    generation: Number(raw.generation ?? 1),
    lastOutcome:
      outcome === 'succeeded' || outcome === 'failed' || outcome === 'cancelled' ? outcome : undefined,
  };
  if (raw.lastTick && raw.lastTask && raw.lastConversation) {
    state.lastRun = {
      tick: Number(raw.lastTick),
      taskId: raw.lastTask,
      conversation: raw.lastConversation,
    };
  }
  return state;
}
