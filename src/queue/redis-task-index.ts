import type { ChainableCommander, Redis } from 'ioredis';
import { PatchbayError } from '../domain/errors.js';
import type { TaskFilter, TaskIndex } from '../domain/ports.js';
import { type TaskRecord, TaskSummary, toTaskSummary } from '../domain/task.js';

/** How many summaries one look at the index reads before filtering them. */
const BATCH = 200;
/** The index never holds more than this many tasks, whatever the retention. */
const MAX_INDEXED = 200_000;

/**
 * Lists of tasks: `<prefix>tasks` (a sorted set of every retained task, members `<created ms>:<id>`
 * with equal scores so that they sort by creation time and never tie),
 * `<prefix>conv-tasks:<conversation>` (each conversation's), and `<prefix>task-summary:<id>` (what a
 * list shows of a task, rewritten with its record). Entries older than the retention are dropped as
 * tasks are added, and the sets expire with their newest task, so none of it outgrows the records.
 */
export function createRedisTaskIndex(deps: { redis: Redis; prefix: string; ttlSeconds: number }) {
  const { redis, prefix, ttlSeconds } = deps;
  const allKey = `${prefix}tasks`;
  const conversationKey = (conversation: string) => `${prefix}conv-tasks:${conversation}`;
  const summaryKey = (id: string) => `${prefix}task-summary:${id}`;
  /** The tasks waiting for an answer, so that the dashboard counts them without reading every task. */
  const waitingKey = `${prefix}tasks-waiting`;

  /** Adds what a new task's MULTI must write besides its record. */
  function onCreate(tx: ChainableCommander, task: TaskRecord): void {
    const created = Date.parse(task.createdAt);
    tx.set(summaryKey(task.id), JSON.stringify(toTaskSummary(task)), 'EX', ttlSeconds)
      .zadd(allKey, 0, member(created, task.id))
      .zremrangebylex(allKey, '-', `(${member(created - ttlSeconds * 1_000, '')}`)
      .zremrangebyrank(allKey, 0, -MAX_INDEXED - 1)
      .expire(allKey, ttlSeconds)
      .zadd(conversationKey(task.conversation), created, task.id)
      .expire(conversationKey(task.conversation), ttlSeconds);
  }

  /** Adds what an update's MULTI must write besides the record. */
  function onUpdate(tx: ChainableCommander, task: TaskRecord): void {
    tx.set(summaryKey(task.id), JSON.stringify(toTaskSummary(task)), 'EX', ttlSeconds);
    if (task.status === 'waiting_for_input') tx.sadd(waitingKey, task.id).expire(waitingKey, ttlSeconds);
    else tx.srem(waitingKey, task.id);
  }

  async function summaries(ids: string[]): Promise<TaskSummary[]> {
    if (ids.length === 0) return [];
    const raws = await redis.mget(ids.map(summaryKey));
    return raws.flatMap((raw) => {
      const parsed = raw ? TaskSummary.safeParse(JSON.parse(raw)) : null;
      return parsed?.success ? [parsed.data] : [];
    });
  }

  const index: TaskIndex = {
    async list(filter, page) {
      const found: TaskSummary[] = [];
      let from = page.cursor ? `(${fromCursor(page.cursor)}` : '+';
      for (;;) {
        const batch = await redis.zrevrangebylex(allKey, from, '-', 'LIMIT', 0, BATCH);
        for (const summary of await summaries(batch.map(idOf))) {
          if (!(await matches(summary, filter, page.visible))) continue;
          if (found.length === page.limit) return { tasks: found, next: toCursor(found[found.length - 1]) };
          found.push(summary);
        }
        const last = batch[batch.length - 1];
        if (batch.length < BATCH || !last) return { tasks: found };
        from = `(${last}`;
      }
    },
    async waiting(visible) {
      const ids = await redis.smembers(waitingKey);
      const tasks = await summaries(ids);
      const gone = ids.filter((id) => !tasks.some((t) => t.id === id));
      if (gone.length) await redis.srem(waitingKey, ...gone);
      const shown: TaskSummary[] = [];
      for (const t of tasks)
        if (t.status === 'waiting_for_input' && (!visible || (await visible(t.repo)))) shown.push(t);
      return shown;
    },
    async ofConversation(conversation) {
      const ids = await redis.zrange(conversationKey(conversation), 0, -1);
      return summaries(ids);
    },
  };
  return { ...index, onCreate, onUpdate };
}

async function matches(
  task: TaskSummary,
  filter: TaskFilter,
  visible: ((repo: string) => Promise<boolean>) | undefined,
): Promise<boolean> {
  if (filter.status && task.status !== filter.status) return false;
  if (filter.repo && task.repo.toLowerCase() !== filter.repo.toLowerCase()) return false;
  if (filter.source && task.source !== filter.source) return false;
  if (filter.requester && task.requester !== filter.requester) return false;
  return visible ? visible(task.repo) : true;
}

/** Sorts by creation time as text: 13 digits of milliseconds hold until the year 2286. */
function member(createdMs: number, id: string): string {
  return `${String(Math.max(0, createdMs)).padStart(13, '0')}:${id}`;
}

const idOf = (entry: string) => entry.slice(entry.indexOf(':') + 1);

function fromCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^\d{13}:[A-Za-z0-9._-]{1,100}$/.test(text)) {
    throw new PatchbayError('invalid_request', 'cursor: not a cursor this list gave out');
  }
  return text;
}

/** A cursor names the last task of a page, opaque to callers. */
function toCursor(task: TaskSummary | undefined): string | undefined {
  return task ? Buffer.from(member(Date.parse(task.createdAt), task.id)).toString('base64url') : undefined;
}
