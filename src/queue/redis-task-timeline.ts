import type { Redis } from 'ioredis';
import type { TaskTimeline } from '../domain/ports.js';
import { type StoredTimelineEntry, TimelineEntry } from '../domain/timeline.js';
import type { Logger } from '../lib/logger.js';
import { createTimelineFollower, type RawStreamEntry } from './redis-timeline-follower.js';
import { appendWithCap } from './timeline-append-script.js';

export interface RedisTaskTimelineDeps {
  /** Appends and reads; `follow` blocks on a connection of its own, made from this one. */
  redis: Redis;
  prefix: string;
  retentionDays: number;
  /** The most a task's timeline holds (entries and outputs), in bytes. */
  capBytes: number;
  /** What a shortened tool output keeps of its head and tail together (default 2 KiB). */
  keepBytes?: number;
  log: Logger;
}

/**
 * A task's timeline as a Redis Stream, `<prefix>timeline:{<id>}`, with its tool outputs in a hash
 * beside it, `<prefix>timeline-outputs:{<id>}` (a stream entry cannot be changed, an output must be
 * shortened in place when the log reaches its cap). Both expire `retentionDays` after the last append,
 * as the task's record does after its last update; the braces keep both in one Redis Cluster slot for
 * the append script. Written by whichever worker runs the task, read and followed by any process.
 */
export function createRedisTaskTimeline(deps: RedisTaskTimelineDeps): TaskTimeline & {
  close(): Promise<void>;
} {
  const { redis, prefix, capBytes, log } = deps;
  const ttlSeconds = deps.retentionDays * 86_400;
  const keepBytes = deps.keepBytes ?? 2_048;
  const streamKey = (id: string) => `${prefix}timeline:{${id}}`;
  const outputsKey = (id: string) => `${prefix}timeline-outputs:{${id}}`;
  const noteJson = () =>
    JSON.stringify({
      type: 'note',
      at: new Date().toISOString(),
      text:
        `This log reached its cap of ${Math.round(capBytes / 1024)} KiB: older tool outputs are shortened, ` +
        'oldest first, to their head and tail, each saying how much was cut.',
    });

  async function append(taskId: string, entry: TimelineEntry): Promise<void> {
    const {
      output,
      shortened: _shortened,
      ...rest
    } = entry as TimelineEntry & {
      output?: string;
      shortened?: boolean;
    };
    await appendWithCap(redis, [streamKey(taskId), outputsKey(taskId)], {
      json: JSON.stringify(rest),
      output: entry.type === 'tool_call' ? (output ?? '') : undefined,
      capBytes,
      ttlSeconds,
      keepBytes,
      noteJson: noteJson(),
    });
  }

  /** Entries as stored, their outputs joined in from the hash; one that does not parse is left out. */
  async function expand(taskId: string, items: RawStreamEntry[]): Promise<StoredTimelineEntry[]> {
    const withOutput = items.filter(([, fields]) => fields[2] === 'o').map(([id]) => id);
    const outputs = withOutput.length ? await redis.hmget(outputsKey(taskId), ...withOutput) : [];
    const byId = new Map(withOutput.map((id, i) => [id, outputs[i] ?? null]));
    return items.flatMap(([id, fields]) => {
      const stored = byId.get(id);
      const raw: unknown = {
        ...(JSON.parse(fields[1] ?? 'null') as object),
        ...(stored === undefined
          ? {}
          : { output: stored?.slice(1) ?? '', ...(stored?.startsWith('~') ? { shortened: true } : {}) }),
      };
      const parsed = TimelineEntry.safeParse(raw);
      if (parsed.success) return [{ id, entry: parsed.data }];
      log.warn({ taskId, entryId: id }, 'unreadable timeline entry left out');
      return [];
    });
  }

  const follower = createTimelineFollower({ redis, log, key: streamKey, expand });

  return {
    append,
    async read(taskId, opts = {}) {
      const start = opts.after ? `(${opts.after}` : '-';
      const items =
        opts.limit === undefined
          ? await redis.xrange(streamKey(taskId), start, '+')
          : await redis.xrange(streamKey(taskId), start, '+', 'COUNT', opts.limit);
      return expand(taskId, items);
    },
    follow: follower.follow,
    close: follower.close,
  };
}
