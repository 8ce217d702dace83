import type { Reporter, TaskEvent } from '../domain/events.js';
import {
  type CountedTask,
  type MetricStage,
  type MetricsRecorder,
  toFailureReason,
} from '../domain/metrics.js';
import { FINAL_STATUSES, type TaskRecord } from '../domain/task.js';
import type { Clock } from '../lib/clock.js';

export interface MetricsObserverDeps {
  metrics: MetricsRecorder;
  /** The default model: the `model` label of tokens and cost of a task that has not said its own yet. */
  model: string;
  clock: Clock;
  /** Removes secrets from a failure's message before it is kept for the dashboard. */
  redact?: (text: string) => string;
}

/**
 * Stages this process has seen open, by task. An attempt that failed and is retried elsewhere never
 * closes its stage here, so the oldest entries go once there are this many.
 */
const MAX_OPEN_STAGES = 1_000;

/** The task's own model (set when its attempt starts) wins over the default. */
export const countedTask = (task: TaskRecord, model: string): CountedTask => ({
  id: task.id,
  run: task.runs,
  source: task.request.origin.source,
  repository: task.request.repo,
  model: task.model ?? model,
});

/**
 * Counts what the worker's tasks do, from their events (an observer of the event router): the time
 * of each stage from the events' order and times on `clock`, a new task's wait in the queue, the
 * growth of its usage (the record's totals, so a retry never counts earlier attempts again), and how
 * each run ended. A stage open when an attempt fails without a `failed` event (a transient failure,
 * retried) is dropped when the task starts again.
 */
export function createMetricsObserver(deps: MetricsObserverDeps): Reporter {
  const { metrics, clock } = deps;
  const open = new Map<string, { stage: MetricStage; since: number }>();

  function openStage(taskId: string, stage: MetricStage): void {
    open.delete(taskId);
    open.set(taskId, { stage, since: clock.now() });
    if (open.size > MAX_OPEN_STAGES) open.delete(open.keys().next().value ?? '');
  }

  async function closeStage(taskId: string): Promise<void> {
    const current = open.get(taskId);
    if (!current) return;
    open.delete(taskId);
    await metrics.observeStage(current.stage, Math.max(0, clock.now() - current.since) / 1000);
  }

  async function started(task: TaskRecord, stage: MetricStage): Promise<void> {
    openStage(task.id, stage);
    // The first attempt of the first run: what a new task waited (attempts only grow, so once).
    if (task.runs !== 1 || task.attempts !== 1 || !task.startedAt) return;
    const waitedMs = Date.parse(task.startedAt) - Date.parse(task.createdAt);
    if (Number.isFinite(waitedMs)) await metrics.observeQueueWait(Math.max(0, waitedMs) / 1000);
  }

  async function ended(event: Extract<TaskEvent, { type: 'question' | 'finished' | 'failed' }>) {
    const task = countedTask(event.task, deps.model);
    await closeStage(event.task.id);
    await metrics.countUsage(task, event.task.usage);
    if (event.type === 'question') return metrics.countEnd(task, 'waiting_for_input');
    if (event.type === 'finished') return metrics.countEnd(task, 'succeeded');
    const status = FINAL_STATUSES.has(event.task.status) ? event.task.status : 'failed';
    if (status === 'cancelled') return metrics.countEnd(task, status);
    const message = deps.redact ? deps.redact(event.message) : event.message;
    return metrics.countEnd(task, status, toFailureReason(event.code, message));
  }

  return {
    async report(event) {
      switch (event.type) {
        case 'started':
          return started(event.task, event.stage);
        case 'stage':
          await closeStage(event.task.id);
          return openStage(event.task.id, event.stage);
        case 'step':
          return metrics.countUsage(countedTask(event.task, deps.model), event.task.usage);
        case 'question':
        case 'finished':
        case 'failed':
          return ended(event);
        default:
          return undefined;
      }
    },
  };
}

/** Counts a task cancelled before any worker ran it (the worker counts the ones it stops). */
export async function countCancelled(metrics: MetricsRecorder, model: string, task: TaskRecord) {
  if (task.status === 'cancelled') await metrics.countEnd(countedTask(task, model), 'cancelled');
}
