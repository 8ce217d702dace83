import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PatchbayError } from '../../src/domain/errors.js';
import type { ReadEntry } from '../../src/domain/inbox.js';
import { systemClock } from '../../src/lib/clock.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createRedisInbox } from '../../src/queue/redis-inbox.js';
import { startInboxConsumer } from '../../src/tasks/inbox-consumer.js';
import { REDIS_URL } from '../fakes/redis.js';
import { eventually } from '../fakes/slack-requests.js';

const redis = new Redis(REDIS_URL);
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});
afterAll(() => redis.disconnect());
const prefix = () => `pbtest:inbox:${Math.random().toString(36).slice(2)}:`;

function consume(p: string, handle: (entry: ReadEntry) => Promise<void>, lags: number[] = []) {
  const inbox = createRedisInbox({ redis, prefix: p });
  const consumer = startInboxConsumer({
    reader: inbox.reader(`test-${Math.random()}`),
    handlers: { thing: handle },
    observeLag: async (_kind, seconds) => void lags.push(seconds),
    clock: systemClock,
    log: createSilentLogger(),
    claimIdleMs: 100,
    blockMs: 100,
  });
  stops.push(consumer.stop);
  return inbox;
}

const pending = async (p: string) =>
  Number(((await redis.xpending(`${p}{inbox}:inbox`, 'patchbay-inbox')) as [number])[0]);

describe('the inbox', () => {
  it('claims a delivery once: a second accept answers the first task id and appends nothing', async () => {
    const inbox = createRedisInbox({ redis, prefix: prefix() });

    const first = await inbox.accept({ kind: 'thing', taskId: 't1', deliveryId: 'd-1', payload: { n: 1 } });
    const again = await inbox.accept({ kind: 'thing', taskId: 't2', deliveryId: 'd-1', payload: { n: 2 } });
    const record = await inbox.accepted('t1');

    expect(first).toEqual({ taskId: 't1', duplicate: false });
    expect(again).toEqual({ taskId: 't1', duplicate: true });
    expect(record).toEqual({ kind: 'thing', payload: { n: 1 }, refused: undefined, made: false });
    expect(await inbox.accepted('t2')).toBeNull();
  });

  it('hands each entry to its handler and acknowledges it only once handled; a failed one is handled again', async () => {
    const p = prefix();
    const seen: string[] = [];
    let failures = 1;
    const lags: number[] = [];
    const inbox = consume(
      p,
      async (entry) => {
        seen.push(entry.taskId);
        if (entry.taskId === 't-flaky' && failures-- > 0) throw new Error('redis hiccup');
      },
      lags,
    );

    await inbox.accept({ kind: 'thing', taskId: 't-ok', payload: {} });
    await inbox.accept({ kind: 'thing', taskId: 't-flaky', payload: {} });
    await eventually(() => (seen.filter((t) => t === 't-flaky').length === 2 ? true : null), 10_000);
    await eventually(async () => ((await pending(p)) === 0 ? true : null), 10_000);

    expect(seen.filter((t) => t === 't-ok')).toEqual(['t-ok']);
    expect(await redis.xlen(`${p}{inbox}:inbox`)).toBe(0);
    expect(lags.length).toBeGreaterThanOrEqual(3);
  });

  it('marks the accepted record made only once its handler finished, keeping what was accepted', async () => {
    const p = prefix();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const started: string[] = [];
    const inbox = consume(p, async (entry) => {
      started.push(entry.taskId);
      await held;
    });
    const payload = { text: 'fix a/b "quoted" \\ ünïcode', n: [1, 2] };

    await inbox.accept({ kind: 'thing', taskId: 't-held', deliveryId: 'd-held', payload });
    await eventually(() => (started.length > 0 ? true : null), 10_000);
    const whileHandled = await inbox.accepted('t-held');
    release();
    const after = await eventually(
      async () => ((await inbox.accepted('t-held'))?.made ? inbox.accepted('t-held') : null),
      10_000,
    );

    expect(whileHandled?.made).toBe(false);
    expect(after).toEqual({ kind: 'thing', payload, refused: undefined, made: true });
    expect(await redis.ttl(`${p}{inbox}:inbox-task:t-held`)).toBeGreaterThan(0);
  });

  it('drops an entry its handler cannot read instead of taking it over forever', async () => {
    const p = prefix();
    let calls = 0;
    const inbox = consume(p, async () => {
      calls += 1;
      throw new PatchbayError('invalid_request', 'not a thing');
    });

    await inbox.accept({ kind: 'thing', taskId: 't-bad', payload: 'garbage' });
    await eventually(async () => (calls > 0 && (await pending(p)) === 0 ? true : null), 10_000);

    expect(calls).toBe(1);
  });
});
