import { describe, expect, it } from 'vitest';
import type { WriteSlot } from '../../src/domain/write-pace.js';
import { inArrivalOrder } from '../../src/integrations/github/ordered-write-pace.js';
import { createRedisWritePace } from '../../src/queue/redis-write-pace.js';
import { redisPerTest } from '../fakes/redis-per-test.js';

const { connect, prefix: keyPrefix } = redisPerTest();

/** Marks a promise settled, so a test can see it is still waiting. */
function track<T>(promise: Promise<T>) {
  const state = { settled: false, promise };
  promise.then(
    () => {
      state.settled = true;
    },
    () => undefined,
  );
  return state;
}

describe('the write pace shared through Redis', () => {
  it('spaces writes taken through two connections (two processes) by the gap, on Redis’s clock', async () => {
    const gapMs = 150;
    const a = createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs });
    const b = createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs });

    const slots = await Promise.all(
      [a, b, a, b, a, b].map(async (pace) => {
        const slot = await pace.acquire('installation:1', { urgent: false });
        await slot.release(); // GitHub answered
        return slot.at;
      }),
    );

    const sorted = [...slots].sort((x, y) => x - y);
    const gaps = sorted.slice(1).map((t, i) => t - (sorted[i] ?? 0));
    expect(gaps.every((g) => g >= gapMs)).toBe(true);
  });

  it('keeps installations apart: one installation’s wait does not hold another’s write', async () => {
    const a = createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs: 60_000 });
    const b = createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs: 60_000 });
    await a.acquire('installation:1', { urgent: false });
    const second = track(b.acquire('installation:1', { urgent: false }));

    await b.acquire('installation:2', { urgent: false });
    await a.acquire('token:0123456789abcdef', { urgent: false });

    expect(second.settled).toBe(false);
    expect(await connect().keys(`${keyPrefix()}*`)).toEqual(
      expect.arrayContaining([
        `${keyPrefix()}{ghpace:installation:1}`,
        `${keyPrefix()}{ghpace:installation:2}`,
        `${keyPrefix()}{ghpace:token:0123456789abcdef}`,
      ]),
    );
  });

  it('gives the next slot to an urgent write before writes that were waiting already', async () => {
    const redis = connect();
    const pace = createRedisWritePace({ redis, prefix: keyPrefix(), gapMs: 1_000 });
    const other = createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs: 1_000 });
    await (await pace.acquire('installation:1', { urgent: false })).release();
    const order: string[] = [];
    const record = (name: string) => (slot: WriteSlot) => {
      order.push(name);
      return slot.release();
    };

    // One connection sends its commands in order: both waiters have asked before the urgent one.
    const waiting = [
      pace.acquire('installation:1', { urgent: false }).then(record('write 1')),
      other.acquire('installation:1', { urgent: false }).then(record('write 2')),
    ];
    await redis.ping();
    const urgent = pace.acquire('installation:1', { urgent: true }).then(record('reaction'));
    await Promise.all([...waiting, urgent]);

    expect(order[0]).toBe('reaction');
  });

  it('lets the next write go once the lease of a write whose process died has run out', async () => {
    const dead = createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs: 100, leaseMs: 300 });
    const alive = createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs: 100, leaseMs: 300 });
    const never = await dead.acquire('installation:1', { urgent: false }); // never released

    const next = await alive.acquire('installation:1', { urgent: false });

    expect(next.at - never.at).toBeGreaterThanOrEqual(300);
  });

  it('holds every process’s writes off after a secondary rate limit', async () => {
    const a = createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs: 100 });
    const b = createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs: 100 });

    await a.holdOff('installation:1', 60_000);
    const held = track(b.acquire('installation:1', { urgent: true }));
    await b.acquire('installation:2', { urgent: false });

    expect(held.settled).toBe(false);
    const ttl = await connect().pttl(`${keyPrefix()}{ghpace:installation:1}`);
    expect(ttl).toBeGreaterThan(60_000);
  });
});

describe('the writes of one process, in the order they asked', () => {
  it('takes the slots of one key in arrival order, while an urgent write still goes first', async () => {
    const pace = inArrivalOrder(createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs: 40 }));
    const holding = await pace.acquire('installation:1', { urgent: false });
    const taken: string[] = [];
    const write = (name: string, urgent = false) =>
      pace.acquire('installation:1', { urgent }).then(async (slot) => {
        taken.push(name);
        await slot.release();
      });

    const normal = ['notice', 'status', 'reply', 'label', 'body'].map((name) => write(name));
    const urgent = write('👀', true);
    await holding.release();
    await Promise.all([...normal, urgent]);

    expect(taken).toEqual(['👀', 'notice', 'status', 'reply', 'label', 'body']);
  });
});
