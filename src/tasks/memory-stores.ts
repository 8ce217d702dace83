import type { ConversationState } from '../domain/conversation.js';
import { PatchbayError } from '../domain/errors.js';
import type {
  ConversationStore,
  KeyValueStore,
  ResumePoint,
  TaskDiff,
  TaskDiffs,
  TaskStore,
  TaskTimeline,
} from '../domain/ports.js';
import { addressKey, MAX_AUDIENCE, type ReplyAddress } from '../domain/reply-address.js';
import type { TaskRecord } from '../domain/task.js';
import type { StoredTimelineEntry } from '../domain/timeline.js';

/** Task records in memory, for `patchbay run` (one task in the foreground, no Redis). */
export function createMemoryTaskStore(): TaskStore {
  const tasks = new Map<string, TaskRecord>();
  const transcripts = new Map<string, unknown[]>();
  const checkpoints = new Map<string, number>();
  const resumePoints = new Map<string, ResumePoint>();
  const audiences = new Map<string, ReplyAddress[]>();
  return {
    async create(record, audience) {
      tasks.set(record.id, structuredClone(record));
      audiences.set(record.id, structuredClone(audience));
    },
    async audience(id) {
      return structuredClone(audiences.get(id) ?? []);
    },
    async join(id, address) {
      const current = audiences.get(id) ?? [];
      const key = addressKey(address);
      if (current.length >= MAX_AUDIENCE || current.some((a) => addressKey(a) === key)) return false;
      audiences.set(id, [...current, structuredClone(address)]);
      return true;
    },
    async get(id) {
      const task = tasks.get(id);
      return task ? structuredClone(task) : null;
    },
    async update(id, change) {
      const current = tasks.get(id);
      if (!current) throw new PatchbayError('task_not_found', `no task ${id}`);
      const next = JSON.parse(
        JSON.stringify({
          ...current,
          ...change(structuredClone(current)),
          updatedAt: new Date().toISOString(),
        }),
      ) as TaskRecord;
      tasks.set(id, next);
      return structuredClone(next);
    },
    async getTranscript(id) {
      return structuredClone(transcripts.get(id) ?? []);
    },
    async appendTranscript(id, messages) {
      transcripts.set(id, [...(transcripts.get(id) ?? []), ...structuredClone(messages)]);
    },
    async checkpointTranscript(id) {
      checkpoints.set(id, transcripts.get(id)?.length ?? 0);
    },
    async rewindTranscript(id, to) {
      const kept = (transcripts.get(id) ?? []).slice(0, to === 'question' ? (checkpoints.get(id) ?? 0) : 0);
      transcripts.set(id, kept);
      resumePoints.delete(id);
      return structuredClone(kept);
    },
    async appendTranscriptAt(id, messages, point) {
      const all = [...(transcripts.get(id) ?? []), ...structuredClone(messages)];
      transcripts.set(id, all);
      resumePoints.set(id, { ...structuredClone(point), length: all.length });
    },
    async replaceTranscript(id, messages, point) {
      transcripts.set(id, structuredClone(messages));
      if (point) resumePoints.set(id, { ...structuredClone(point), length: messages.length });
      else {
        resumePoints.delete(id);
        checkpoints.delete(id);
      }
    },
    async rewindToResumePoint(id, run) {
      const point = resumePoints.get(id);
      const all = transcripts.get(id) ?? [];
      if (!point || point.run !== run || point.length > all.length) return null;
      const kept = all.slice(0, point.length);
      transcripts.set(id, kept);
      return { messages: structuredClone(kept), point: structuredClone(point) };
    },
  };
}

export function createMemoryConversationStore(): ConversationStore {
  const states = new Map<string, ConversationState>();
  const waiting = new Map<string, string>();
  const latest = new Map<string, string>();
  return {
    async get(id) {
      return structuredClone(states.get(id) ?? null);
    },
    async put(state) {
      states.set(state.id, structuredClone(state));
    },
    async setWaiting(id, taskId) {
      waiting.set(id, taskId);
    },
    async takeWaiting(id) {
      const taskId = waiting.get(id) ?? null;
      waiting.delete(id);
      return taskId;
    },
    async clearWaiting(id, taskId) {
      if (waiting.get(id) === taskId) waiting.delete(id);
    },
    async setLatest(id, taskId) {
      latest.set(id, taskId);
    },
    async latest(id) {
      return latest.get(id) ?? null;
    },
  };
}

/** Integration state of one process (expiry is not kept: nothing here outlives the process). */
export function createMemoryKeyValue(): KeyValueStore {
  const map = new Map<string, string>();
  return {
    get: async (k) => map.get(k) ?? null,
    set: async (k, v) => void map.set(k, v),
    setIfAbsent: async (k, v) => (map.has(k) ? false : Boolean(map.set(k, v))),
    delete: async (k) => void map.delete(k),
    async take(k) {
      const value = map.get(k) ?? null;
      map.delete(k);
      return value;
    },
    async tryLock(k) {
      const lockKey = `lock:${k}`;
      if (map.has(lockKey)) return null;
      const holder = Symbol(lockKey).toString() + Math.random();
      map.set(lockKey, holder);
      return { release: async () => void (map.get(lockKey) === holder && map.delete(lockKey)) };
    },
  };
}

/** A task timeline in memory (`patchbay run`, tests): no cap, no expiry, followed within the process. */
export function createMemoryTimeline(): TaskTimeline {
  const logs = new Map<string, StoredTimelineEntry[]>();
  const listeners = new Map<string, Set<() => void>>();
  let sequence = 0;
  const after = (taskId: string, id: string | undefined) =>
    (logs.get(taskId) ?? []).filter((e) => id === undefined || Number(e.id) > Number(id));
  return {
    async append(taskId, entry) {
      sequence += 1;
      const list = logs.get(taskId) ?? [];
      list.push({ id: String(sequence), entry: structuredClone(entry) });
      logs.set(taskId, list);
      for (const notify of listeners.get(taskId) ?? []) notify();
    },
    async read(taskId, opts = {}) {
      return structuredClone(after(taskId, opts.after).slice(0, opts.limit ?? Number.POSITIVE_INFINITY));
    },
    async follow(taskId, from, onEntries, signal) {
      let last = from;
      const deliver = () => {
        const fresh = after(taskId, last);
        if (fresh.length === 0) return;
        last = fresh.at(-1)?.id;
        onEntries(structuredClone(fresh));
      };
      const set = listeners.get(taskId) ?? new Set();
      set.add(deliver);
      listeners.set(taskId, set);
      deliver();
      await new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
      set.delete(deliver);
    },
  };
}

export function createMemoryDiffs(): TaskDiffs {
  const diffs = new Map<string, TaskDiff>();
  return {
    async put(taskId, diff) {
      diffs.set(taskId, structuredClone(diff));
    },
    async get(taskId) {
      return structuredClone(diffs.get(taskId) ?? null);
    },
  };
}
