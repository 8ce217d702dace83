import { describe, expect, it } from 'vitest';
import { batchHashAdds, type HashLimits, type Increment } from '../../src/queue/redis-metric-hashes.js';

const LIMITS: HashLimits = { maxFields: 10, ttlMs: 60_000 };

function recorder(fail?: Error) {
  const writes: Array<{ key: string; increments: Increment[] }> = [];
  return {
    writes,
    hashes: {
      async add(key: string, increments: Increment[]) {
        writes.push({ key, increments });
        if (fail) throw fail;
      },
    },
  };
}

describe('batchHashAdds', () => {
  it('sums the observations of one window into one write per hash', async () => {
    const { writes, hashes } = recorder();
    const batch = batchHashAdds(hashes, 20);
    await Promise.all([
      batch.add('webhooks', [{ field: ['slack', 'count'], by: 1 }], LIMITS),
      batch.add('webhooks', [{ field: ['slack', 'count'], by: 1 }], LIMITS),
      batch.add(
        'webhooks',
        [
          { field: ['slack', 'count'], by: 1 },
          { field: ['slack', 'sum'], by: 0.25, float: true },
        ],
        LIMITS,
      ),
      batch.add('inbox', [{ field: ['slack-mention', 'count'], by: 1 }], LIMITS),
    ]);
    expect(writes).toHaveLength(2);
    expect(writes.find((w) => w.key === 'webhooks')?.increments).toEqual([
      { field: ['slack', 'count'], by: 3 },
      { field: ['slack', 'sum'], by: 0.25, float: true },
    ]);
    expect(writes.find((w) => w.key === 'inbox')?.increments).toEqual([
      { field: ['slack-mention', 'count'], by: 1 },
    ]);
  });

  it('keeps a float field apart from a whole one of the same name, and fallbacks apart', async () => {
    const { writes, hashes } = recorder();
    const batch = batchHashAdds(hashes, 20);
    await Promise.all([
      batch.add('h', [{ field: ['a'], by: 1 }], LIMITS),
      batch.add('h', [{ field: ['a'], by: 0.5, float: true }], LIMITS),
      batch.add('h', [{ field: ['a'], by: 1, fallback: ['other'] }], LIMITS),
    ]);
    expect(writes[0]?.increments).toHaveLength(3);
  });

  it('writes what waits at once on flush, and nothing twice', async () => {
    const { writes, hashes } = recorder();
    const batch = batchHashAdds(hashes, 60_000);
    const added = batch.add('h', [{ field: ['a'], by: 2 }], LIMITS);
    await batch.flush();
    await added;
    await batch.flush();
    expect(writes).toEqual([{ key: 'h', increments: [{ field: ['a'], by: 2 }] }]);
  });

  it('waits on flush for a write its window already started', async () => {
    let finish: () => void = () => undefined;
    const writes: string[] = [];
    const batch = batchHashAdds(
      {
        add: (key) => {
          writes.push(key);
          return new Promise<void>((resolve) => {
            finish = resolve;
          });
        },
      },
      5,
    );
    const added = batch.add('h', [{ field: ['a'], by: 1 }], LIMITS);
    while (writes.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    let flushed = false;
    const flushing = batch.flush().then(() => {
      flushed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));

    expect(flushed).toBe(false);
    finish();
    await flushing;
    await added;
    expect(flushed).toBe(true);
  });

  it('rejects every add of a batch whose write failed', async () => {
    const { hashes } = recorder(new Error('Redis is gone'));
    const batch = batchHashAdds(hashes, 5);
    const results = await Promise.allSettled([
      batch.add('h', [{ field: ['a'], by: 1 }], LIMITS),
      batch.add('h', [{ field: ['a'], by: 1 }], LIMITS),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
