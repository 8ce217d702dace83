import type { Redis } from 'ioredis';
import type { StoredTimelineEntry } from '../domain/timeline.js';
import type { Logger } from '../lib/logger.js';
import { duplicateRedis } from './redis-connection.js';

/** A stream entry as XRANGE and XREAD give it: its id and its fields, name then value. */
export type RawStreamEntry = [id: string, fields: string[]];

type OnEntries = (entries: StoredTimelineEntry[]) => void;

interface Follower {
  /** The id of the last entry this follower was given ('0-0' before any). */
  last: string;
  onEntries: OnEntries;
  stop: () => void;
}

/** Entries read per stream and call: a page catching up on a long log gets it in a few calls. */
const BATCH = 500;
/** A safety net: the read is re-issued this often even when nothing asks for it. */
const BLOCK_MS = 5_000;
/** When this Redis refuses CLIENT UNBLOCK, a changed set of streams is picked up within this long. */
const FALLBACK_BLOCK_MS = 250;
const RETRY_MS = 500;

/** Stream ids are `<ms>-<seq>`: compared as numbers, not as text. */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am === bm ? as - bs : am - bm;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Follows any number of timelines on one blocking connection per process: a single `XREAD BLOCK`
 * over every followed stream, each from the oldest position one of its followers still needs. When
 * the set of streams or positions changes, the read is interrupted with CLIENT UNBLOCK from the other
 * connection and issued again, so an entry reaches its followers within a round trip or two of being
 * appended. Each follower gets only entries after its own position, oldest first.
 */
export function createTimelineFollower(deps: {
  /** Not blocked: it sends CLIENT UNBLOCK and fetches outputs while the other connection waits. */
  redis: Redis;
  log: Logger;
  key: (taskId: string) => string;
  expand: (taskId: string, items: RawStreamEntry[]) => Promise<StoredTimelineEntry[]>;
}) {
  const { redis, log } = deps;
  const followed = new Map<string, Set<Follower>>();
  let blocker: Redis | undefined;
  let blockerId: number | undefined;
  let running: Promise<void> | undefined;
  /** Bumped on every change of the set; `inflight` is the generation the pending read was built from. */
  let generation = 0;
  let inflight: number | undefined;
  let interrupting = false;
  let unblockRefused = false;
  let closed = false;

  async function connect(): Promise<Redis> {
    if (blocker) return blocker;
    const conn = duplicateRedis(redis, {
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      lazyConnect: true,
    });
    conn.on('error', (err: Error) => log.debug({ err: err.message }, 'timeline follower connection error'));
    // A reconnected connection has a new client id, needed to interrupt its read.
    conn.on('ready', () => {
      void conn.client('ID').then(
        (id) => {
          blockerId = Number(id);
        },
        () => undefined,
      );
    });
    blocker = conn;
    await conn.connect();
    return conn;
  }

  function changed(): void {
    generation += 1;
    running ??= loop().finally(() => {
      running = undefined;
      if (followed.size > 0 && !closed) changed();
    });
    void interrupt();
  }

  /** Ends the pending read if it was built before the last change; retried while it is on its way. */
  async function interrupt(): Promise<void> {
    if (interrupting || unblockRefused) return;
    interrupting = true;
    try {
      for (let i = 0; i < 200 && inflight !== undefined && inflight < generation; i++) {
        if (blockerId !== undefined && (await redis.client('UNBLOCK', blockerId)) === 1) break;
        // The read has not reached Redis yet (or its answer is on its way back): try again shortly.
        await pause(1);
      }
    } catch (err) {
      unblockRefused = true;
      log.warn(
        { err: (err as Error).message },
        'Redis refused CLIENT UNBLOCK: a newly followed timeline may wait up to 250 ms',
      );
    } finally {
      interrupting = false;
    }
    if (inflight !== undefined && inflight < generation && !unblockRefused) void interrupt();
  }

  async function loop(): Promise<void> {
    const conn = await connect();
    while (!closed && followed.size > 0) {
      const tasks = [...followed.keys()];
      const keys = tasks.map(deps.key);
      const from = tasks.map((t) => oldest(followed.get(t)));
      inflight = generation;
      let reply: Array<[string, RawStreamEntry[]]> | null;
      try {
        const block = unblockRefused ? FALLBACK_BLOCK_MS : BLOCK_MS;
        reply = await conn.xread('COUNT', BATCH, 'BLOCK', block, 'STREAMS', ...keys, ...from);
      } catch (err) {
        if (closed) break;
        log.warn({ err: (err as Error).message }, 'could not read followed timelines; retrying');
        await pause(RETRY_MS);
        continue;
      } finally {
        inflight = undefined;
      }
      for (const [key, items] of reply ?? []) {
        const i = keys.indexOf(key);
        const taskId = tasks[i];
        if (taskId !== undefined) await deliver(taskId, from[i] ?? '0-0', items);
      }
    }
  }

  /** `from`: where the read began; a follower that joined since, needing older entries, waits for the next. */
  async function deliver(taskId: string, from: string, items: RawStreamEntry[]): Promise<void> {
    const lastId = items.at(-1)?.[0];
    if (!lastId) return;
    let entries: StoredTimelineEntry[];
    try {
      entries = await deps.expand(taskId, items);
    } catch (err) {
      log.warn({ taskId, err: (err as Error).message }, 'could not read timeline outputs; retrying');
      await pause(RETRY_MS);
      return;
    }
    for (const follower of followed.get(taskId) ?? []) {
      if (compareStreamIds(follower.last, from) < 0) continue;
      const fresh = entries.filter((e) => compareStreamIds(e.id, follower.last) > 0);
      if (compareStreamIds(lastId, follower.last) > 0) follower.last = lastId;
      if (fresh.length === 0) continue;
      try {
        follower.onEntries(fresh);
      } catch (err) {
        log.warn({ taskId, err: (err as Error).message }, 'a timeline follower failed');
      }
    }
  }

  function remove(taskId: string, follower: Follower): void {
    const set = followed.get(taskId);
    if (!set?.delete(follower)) return;
    if (set.size === 0) followed.delete(taskId);
    changed();
  }

  return {
    /** See TaskTimeline.follow. */
    async follow(
      taskId: string,
      after: string | undefined,
      onEntries: OnEntries,
      signal: AbortSignal,
    ): Promise<void> {
      if (signal.aborted || closed) return;
      await new Promise<void>((resolve) => {
        const follower: Follower = { last: after ?? '0-0', onEntries, stop: resolve };
        const set = followed.get(taskId) ?? new Set<Follower>();
        set.add(follower);
        followed.set(taskId, set);
        signal.addEventListener(
          'abort',
          () => {
            remove(taskId, follower);
            resolve();
          },
          { once: true },
        );
        changed();
      });
    },
    /** Ends every follow and closes the blocking connection. */
    async close(): Promise<void> {
      closed = true;
      for (const set of followed.values()) for (const follower of set) follower.stop();
      followed.clear();
      blocker?.disconnect();
      await running;
    },
  };
}

function oldest(set: Set<Follower> | undefined): string {
  let min: string | undefined;
  for (const follower of set ?? []) {
    if (min === undefined || compareStreamIds(follower.last, min) < 0) min = follower.last;
  }
  return min ?? '0-0';
}
