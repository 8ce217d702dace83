import type { Redis } from 'ioredis';
import type { CounterSeries, HistogramSeries } from '../domain/metrics.js';
import { redisScript, runScript } from './redis-script.js';

/**
 * Adds to fields of one hash and renews its expiry. A field that is not there yet is added only while
 * the hash has fewer than ARGV[1] fields; otherwise the increment goes to its fallback field (which
 * may go past the limit: callers give few distinct fallbacks), or nowhere when it has none.
 * ARGV: max fields, ttl ms, then per increment: field, fallback ('' for none), amount, 'i' or 'f'.
 */
const INCREMENT = redisScript(`
local key = KEYS[1]
local cap = tonumber(ARGV[1])
for i = 3, #ARGV, 4 do
  local field = ARGV[i]
  if redis.call('HEXISTS', key, field) == 0 and redis.call('HLEN', key) >= cap then
    field = ARGV[i + 1]
  end
  if field ~= '' then
    if ARGV[i + 3] == 'f' then
      redis.call('HINCRBYFLOAT', key, field, ARGV[i + 2])
    else
      redis.call('HINCRBY', key, field, ARGV[i + 2])
    end
  end
end
redis.call('PEXPIRE', key, ARGV[2])
return 1`);

export interface Increment {
  /** Label values; a histogram adds its part (`le=…`, `sum`, `count`) as the last element. */
  field: string[];
  by: number;
  /** Added with HINCRBYFLOAT: a field is always one or the other (HINCRBY refuses a float field). */
  float?: boolean;
  /** Where the count goes once the hash is full (none: it is dropped). */
  fallback?: string[];
}

export interface HashLimits {
  maxFields: number;
  ttlMs: number;
}

/** Fields are JSON arrays of label values: any label text is safe in them. */
const encode = (parts: string[]) => JSON.stringify(parts);

function decode(field: string): string[] | null {
  try {
    const parts: unknown = JSON.parse(field);
    return Array.isArray(parts) && parts.every((p) => typeof p === 'string') ? parts : null;
  } catch {
    return null;
  }
}

/**
 * Counters and histograms as fields of one Redis hash per series family, incremented with
 * HINCRBY / HINCRBYFLOAT in a script of one key (so it works on Redis Cluster too), each hash capped
 * in fields and expiring when nothing was added for `ttlMs`.
 */
export function createMetricHashes(redis: Redis) {
  async function add(key: string, increments: Increment[], limits: HashLimits): Promise<void> {
    const args = increments.flatMap(({ field, by, float, fallback }) => [
      encode(field),
      fallback ? encode(fallback) : '',
      float ? by.toFixed(9) : String(Math.round(by)),
      float ? 'f' : 'i',
    ]);
    if (args.length === 0) return;
    await runScript(redis, INCREMENT, [key], [String(limits.maxFields), String(limits.ttlMs), ...args]);
  }

  /** Every field of the hash as label values and a number; fields of another shape are skipped. */
  async function read(key: string): Promise<Array<{ parts: string[]; value: number }>> {
    const all = await redis.hgetall(key);
    return Object.entries(all).flatMap(([field, raw]) => {
      const parts = decode(field);
      const value = Number(raw);
      return parts && Number.isFinite(value) ? [{ parts, value }] : [];
    });
  }

  async function readCounter(key: string, labelCount: number): Promise<CounterSeries[]> {
    const fields = await read(key);
    return fields
      .filter((f) => f.parts.length === labelCount)
      .map((f) => ({ labels: f.parts, value: f.value }));
  }

  async function readHistogram(key: string, labelCount: number, bounds: readonly number[]) {
    return toHistogramSeries(await read(key), labelCount, bounds);
  }

  return { add, read, readCounter, readHistogram };
}
export type MetricHashes = ReturnType<typeof createMetricHashes>;

/**
 * Increments of frequent observations (a webhook answered, an inbox entry taken) summed in memory and
 * written at most once per `windowMs` per hash: one script call for a window's worth instead of one
 * per observation, so that the answering thread makes one Redis round trip per delivery, not two.
 * Each `add` resolves once the write that carries it is done; `flush` writes what waits now (at stop).
 * What waits when the process dies uncleanly is lost: at most one window of timings.
 */
export function batchHashAdds(hashes: Pick<MetricHashes, 'add'>, windowMs: number) {
  interface Pending {
    limits: HashLimits;
    sums: Map<string, Increment>;
    done: Array<{ resolve(): void; reject(err: Error): void }>;
    timer: NodeJS.Timeout;
  }
  const pending = new Map<string, Pending>();
  const writing = new Set<Promise<void>>();

  function write(key: string): Promise<void> {
    const batch = pending.get(key);
    if (!batch) return Promise.resolve();
    pending.delete(key);
    clearTimeout(batch.timer);
    const done = hashes.add(key, [...batch.sums.values()], batch.limits).then(
      () => {
        for (const d of batch.done) d.resolve();
      },
      (err: Error) => {
        for (const d of batch.done) d.reject(err);
      },
    );
    writing.add(done);
    return done.finally(() => writing.delete(done));
  }

  function add(key: string, increments: Increment[], limits: HashLimits): Promise<void> {
    let batch = pending.get(key);
    if (!batch) {
      const timer = setTimeout(() => void write(key), windowMs);
      timer.unref();
      batch = { limits, sums: new Map(), done: [], timer };
      pending.set(key, batch);
    }
    for (const inc of increments) {
      const id = `${encode(inc.field)}\n${inc.fallback ? encode(inc.fallback) : ''}\n${inc.float ? 'f' : 'i'}`;
      const sum = batch.sums.get(id);
      batch.sums.set(id, sum ? { ...sum, by: sum.by + inc.by } : { ...inc });
    }
    const { done } = batch;
    return new Promise((resolve, reject) => done.push({ resolve, reject }));
  }

  return {
    add,
    /** Writes what waits, and waits for the writes already under way too. */
    flush: () => Promise.all([...[...pending.keys()].map(write), ...writing]).then(() => undefined),
  };
}

/** The fields one observation adds: its bucket (non-cumulative; cumulated when read), sum and count. */
export function observation(labels: string[], value: number, bounds: readonly number[]): Increment[] {
  const bound = bounds.find((b) => value <= b);
  return [
    { field: [...labels, `le=${bound ?? '+Inf'}`], by: 1 },
    { field: [...labels, 'sum'], by: value, float: true },
    { field: [...labels, 'count'], by: 1 },
  ];
}

/**
 * Stored buckets hold the observations up to their bound and above the one before, so that the
 * cumulative count of each bound is the sum of the stored buckets at or below it (a bound no longer
 * configured still counts in the next one up).
 */
function toHistogramSeries(
  fields: Array<{ parts: string[]; value: number }>,
  labelCount: number,
  bounds: readonly number[],
): HistogramSeries[] {
  const bySeries = new Map<
    string,
    { labels: string[]; stored: Map<number, number>; sum: number; count: number }
  >();
  for (const { parts, value } of fields) {
    if (parts.length !== labelCount + 1) continue;
    const labels = parts.slice(0, labelCount);
    const id = encode(labels);
    const series = bySeries.get(id) ?? { labels, stored: new Map(), sum: 0, count: 0 };
    bySeries.set(id, series);
    const part = parts[labelCount] ?? '';
    if (part === 'sum') series.sum = value;
    else if (part === 'count') series.count = value;
    else if (part.startsWith('le=') && part !== 'le=+Inf') {
      // Above every bound, an observation is only in `count` (the +Inf bucket).
      const bound = Number(part.slice(3));
      series.stored.set(bound, (series.stored.get(bound) ?? 0) + value);
    }
  }
  return [...bySeries.values()].map(({ labels, stored, sum, count }) => ({
    labels,
    buckets: bounds.map((b) => [...stored].reduce((n, [at, c]) => (at <= b ? n + c : n), 0)),
    sum,
    count,
  }));
}
