import { describe, expect, it } from 'vitest';
import type { WritePace, WriteSlot } from '../../src/domain/write-pace.js';
import { createLocalWritePace } from '../../src/integrations/github/local-write-pace.js';
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

  it('keeps starts a gap apart when a dead write’s lease runs out after an urgent write went', async () => {
    const gapMs = 300;
    const pace = createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs, leaseMs: 600 });
    const dead = await pace.acquire('installation:1', { urgent: false }); // never answered
    const urgent = await pace.acquire('installation:1', { urgent: true });
    const next = await pace.acquire('installation:1', { urgent: false }); // once the lease ran out

    expect(urgent.at - dead.at).toBeGreaterThanOrEqual(gapMs);
    expect(next.at - dead.at).toBeGreaterThanOrEqual(600);
    expect(next.at - urgent.at).toBeGreaterThanOrEqual(gapMs);
  });

  it('turns the hourly budget off with the pace (a gap of 0)', async () => {
    const redis = connect();
    const pace = createRedisWritePace({ redis, prefix: keyPrefix(), gapMs: 0, perHour: 1 });
    for (let i = 0; i < 3; i++) await (await pace.acquire('installation:1', { urgent: false })).release();

    expect(await redis.keys(`${keyPrefix()}*`)).toEqual([]);
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

type MakePace = (gapMs: number) => WritePace;
const paces: Array<[string, MakePace]> = [
  ['shared through Redis', (gapMs) => createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs })],
  ['of one process', (gapMs) => createLocalWritePace(gapMs)],
];

describe.each(paces)('an urgent write under the pace %s', (_, make) => {
  it('goes one gap after the start of a write GitHub has not answered yet; the next write still waits for that answer', async () => {
    const gapMs = 300;
    const pace = make(gapMs);
    const slow = await pace.acquire('installation:1', { urgent: false }); // in flight, not answered

    const urgent = await pace.acquire('installation:1', { urgent: true });
    const next = track(pace.acquire('installation:1', { urgent: false }));
    await urgent.release();
    // A second urgent write goes a gap after the first: by then the waiting write had its chances.
    const again = await pace.acquire('installation:1', { urgent: true });
    await again.release();

    expect(urgent.at - slow.at).toBeGreaterThanOrEqual(gapMs);
    expect(again.at - urgent.at).toBeGreaterThanOrEqual(gapMs);
    expect(next.settled).toBe(false);
    await slow.release();
    const after = await next.promise;
    expect(after.at - again.at).toBeGreaterThanOrEqual(gapMs);
  });
});

describe('the hourly budget of writes', () => {
  it('starts at most `perHour` writes of one key in any hour, in every process together', async () => {
    const redis = connect();
    const key = 'installation:1';
    const a = createRedisWritePace({ redis, prefix: keyPrefix(), gapMs: 1, perHour: 3 });
    const b = createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs: 1, perHour: 3 });
    for (const pace of [a, b, a]) await (await pace.acquire(key, { urgent: false })).release();

    const fourth = track(a.acquire(key, { urgent: true }));
    await redis.ping(); // one connection answers in order: the fourth has asked and was told to wait
    await (await b.acquire('installation:2', { urgent: false })).release();

    expect(fourth.settled).toBe(false);
    const log = `${keyPrefix()}{ghpace:${key}}:hour`;
    expect(await redis.zcard(log)).toBe(3);
    expect(await redis.pttl(log)).toBeGreaterThan(3_600_000);
    // An hour later (the starts moved back by an hour) the fourth goes.
    const starts = await redis.zrange(log, 0, -1, 'WITHSCORES');
    for (let i = 0; i < starts.length; i += 2)
      await redis.zadd(log, Number(starts[i + 1]) - 3_600_000, String(starts[i]));
    const slot = await fourth.promise;
    await slot.release();
    expect(await redis.zcard(log)).toBe(1);
  });

  it('is kept by the pace of one process too', async () => {
    let now = 1_000_000;
    const pace = createLocalWritePace(1, 2, () => now);
    for (let i = 0; i < 2; i++) {
      await (await pace.acquire('k', { urgent: false })).release();
      now += 10;
    }
    const third = track(pace.acquire('k', { urgent: false }));
    await (await pace.acquire('other', { urgent: false })).release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(third.settled).toBe(false);

    now += 3_600_000;
    await (await third.promise).release();
    expect(third.settled).toBe(true);
  });
});
