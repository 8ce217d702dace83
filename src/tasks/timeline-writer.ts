import { truncateOutput } from '../agent/truncate-output.js';
import type { AgentActivity } from '../agent/types.js';
import type { Reporter, TaskEvent, TaskStage } from '../domain/events.js';
import type { TaskDiff, TaskDiffs, TaskTimeline } from '../domain/ports.js';
import type { TaskRecord } from '../domain/task.js';
import type { TimelineEntry } from '../domain/timeline.js';
import type { Clock } from '../lib/clock.js';
import { settleWithin } from '../lib/deadline.js';
import type { Logger } from '../lib/logger.js';

export interface TimelineWriterDeps {
  timeline: TaskTimeline;
  diffs: TaskDiffs;
  /** The project's redactor (every configured secret, every credential shape): applied to every string. */
  redact: (text: string) => string;
  /** The timeline's cap in bytes: one output keeps a quarter of it (in characters), a stored patch all of it. */
  capBytes: number;
  log: Logger;
  /** What bounds a flush (the system's by default). */
  clock?: Clock;
}

/**
 * Writes a task's timeline from the worker (and `queued` from submit). Entries of one task are written
 * one after the other in the order they were given, in the background: `add` and the observer only
 * queue, so the agent never waits on Redis; the attempt flushes what is left when it ends. Every string
 * is redacted before it leaves the process. A write that fails is logged and never fails the task.
 */
export interface TimelineWriter {
  /** Hears every TaskEvent of the worker: stages (timed here), the question, how a run ended. */
  readonly observer: Reporter;
  add(taskId: string, entry: TimelineEntry): void;
  /** What the agent did in the current attempt of `task`. */
  activity(task: TaskRecord, activity: AgentActivity): void;
  /** An attempt that goes back to the queue: retried after a transient error, or interrupted. */
  attemptEnded(task: TaskRecord, status: 'retrying' | 'interrupted', error?: EntryError): void;
  /** Stores the task's diff (replacing the one stored before), in order with its entries. */
  diff(taskId: string, diff: TaskDiff): void;
  /** `add`, then waits (up to `maxMs`) until it is written: for the server, which has no attempt to end. */
  writeNow(taskId: string, entry: TimelineEntry, maxMs?: number): Promise<void>;
  /** Resolves once everything given for the task so far is written, or `maxMs` passed (false then). */
  flush(taskId: string, maxMs?: number): Promise<boolean>;
  /** The same for every task (shutdown). */
  flushAll(maxMs?: number): Promise<boolean>;
}

type EntryError = { code: string; message: string; hint?: string };

/** Any string field but a tool's output (the model's text, an instruction, a question) keeps this much. */
const FIELD_CHARS = 16_384;
const FLUSH_MS = 2_000;

/** When and where in the task an entry happened. */
export const stampOf = (task: Pick<TaskRecord, 'runs' | 'attempts'>) => ({
  at: new Date().toISOString(),
  run: Math.max(1, task.runs),
  attempt: task.attempts,
});

export function createTimelineWriter(deps: TimelineWriterDeps): TimelineWriter {
  const { log } = deps;
  const queues = new Map<string, { jobs: Array<() => Promise<void>>; draining?: Promise<void> }>();
  const stages = new Map<string, { stage: TaskStage; since: number }>();
  const outputChars = Math.floor(deps.capBytes / 4);

  function enqueue(taskId: string, what: string, job: () => Promise<void>): void {
    const queue = queues.get(taskId) ?? { jobs: [] };
    queues.set(taskId, queue);
    queue.jobs.push(async () => {
      try {
        await job();
      } catch (err) {
        log.warn({ taskId, what, err: (err as Error).message }, 'could not write the task timeline');
      }
    });
    queue.draining ??= drain(taskId, queue);
  }

  async function drain(
    taskId: string,
    queue: { jobs: Array<() => Promise<void>>; draining?: Promise<void> },
  ) {
    // Redaction and serialising happen here, off the caller's path.
    await new Promise((resolve) => setImmediate(resolve));
    for (let job = queue.jobs.shift(); job; job = queue.jobs.shift()) await job();
    queue.draining = undefined;
    queues.delete(taskId);
  }

  const redactAll = <T>(value: T): T => redactDeep(value, deps.redact);

  function add(taskId: string, entry: TimelineEntry): void {
    enqueue(taskId, entry.type, () => deps.timeline.append(taskId, capFields(redactAll(entry), outputChars)));
  }

  function openStage(task: TaskRecord, stage: TaskStage): void {
    closeStage(task);
    stages.set(task.id, { stage, since: performance.now() });
    add(task.id, { type: 'stage', ...stampOf(task), stage });
  }

  function closeStage(task: TaskRecord): void {
    const open = stages.get(task.id);
    if (!open) return;
    stages.delete(task.id);
    const durationMs = Math.round(performance.now() - open.since);
    add(task.id, { type: 'stage_ended', ...stampOf(task), stage: open.stage, durationMs });
  }

  function outcome(
    task: TaskRecord,
    status: Extract<TimelineEntry, { type: 'outcome' }>['status'],
    extra = {},
  ) {
    closeStage(task);
    add(task.id, {
      type: 'outcome',
      ...stampOf(task),
      status,
      steps: task.steps,
      usage: task.usage,
      // What the task used of its limits, as the attempt left it on the record (docs/limits.md).
      ...(task.resources ? { resources: task.resources } : {}),
      ...extra,
    });
  }

  function observe(event: TaskEvent): void {
    const { task } = event;
    switch (event.type) {
      case 'started':
      case 'stage':
        openStage(task, event.stage);
        break;
      case 'question': {
        closeStage(task);
        const { at, run } = stampOf(task);
        add(task.id, { type: 'question', at, run, question: event.question });
        outcome(task, 'waiting_for_input');
        break;
      }
      case 'finished':
        outcome(task, 'succeeded', { summary: event.summary });
        break;
      case 'failed': {
        const error = { code: event.code, message: event.message, hint: event.hint };
        outcome(task, event.code === 'cancelled' ? 'cancelled' : 'failed', { error });
        break;
      }
      default:
        break; // `accepted` and `step`: the agent's activities say more than a step summary
    }
  }

  async function flush(taskId: string, maxMs = FLUSH_MS): Promise<boolean> {
    const draining = queues.get(taskId)?.draining;
    if (!draining) return true;
    const done = await settleWithin(draining, maxMs, deps.clock);
    if (!done) log.warn({ taskId, maxMs }, 'task timeline not written in time; it goes on in the background');
    return done;
  }

  return {
    observer: { report: async (event) => observe(event) },
    add,
    activity: (task, activity) => add(task.id, { ...activity, ...stampOf(task) }),
    attemptEnded: (task, status, error) => outcome(task, status, error ? { error } : {}),
    diff(taskId, diff) {
      enqueue(taskId, 'diff', () =>
        deps.diffs.put(taskId, {
          files: diff.files.map(deps.redact),
          stat: deps.redact(diff.stat),
          patch: capPatch(deps.redact(diff.patch), deps.capBytes),
        }),
      );
    },
    async writeNow(taskId, entry, maxMs) {
      add(taskId, entry);
      await flush(taskId, maxMs);
    },
    flush,
    async flushAll(maxMs = FLUSH_MS) {
      const all = [...queues.values()].flatMap((q) => (q.draining ? [q.draining] : []));
      return settleWithin(Promise.all(all), maxMs, deps.clock);
    },
  };
}

function redactDeep<T>(value: T, redact: (text: string) => string): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, redact)])) as T;
  }
  return value;
}

/** Every string of an entry within its size: a tool's output within `outputChars`, the rest FIELD_CHARS. */
function capFields(entry: TimelineEntry, outputChars: number): TimelineEntry {
  const cap = (text: string, chars: number) =>
    text.length > chars ? truncateOutput(text, { headChars: chars / 2, tailChars: chars / 2 }) : text;
  const capped = Object.fromEntries(
    Object.entries(entry).map(([k, v]) => [k, typeof v === 'string' ? cap(v, FIELD_CHARS) : v]),
  ) as TimelineEntry;
  if (capped.type === 'tool_call')
    capped.output = cap(entry.type === 'tool_call' ? entry.output : '', outputChars);
  if (capped.type === 'checks') {
    capped.checks = capped.checks.map((c) => ({ ...c, output: cap(c.output, FIELD_CHARS) }));
  }
  return capped;
}

function capPatch(patch: string, bytes: number): string {
  if (Buffer.byteLength(patch) <= bytes) return patch;
  const kept = Buffer.from(patch)
    .subarray(0, bytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return `${kept}\n[patch cut: ${Buffer.byteLength(patch) - Buffer.byteLength(kept)} more bytes]\n`;
}
