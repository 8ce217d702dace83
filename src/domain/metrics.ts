import type { TaskStage } from './events.js';
import type { TaskStatus, Usage } from './task.js';

/**
 * Patchbay's own Prometheus series whose counts are kept in Redis, so that one scrape of any server
 * process sees what every worker counted. Names and labels are the contract in DESIGN.md.
 * `patchbay_queue_jobs` is not here: it is read from BullMQ at each scrape.
 */
export const COUNTERS = {
  tasks: {
    name: 'patchbay_tasks_total',
    help: 'Tasks that ended (succeeded, failed, cancelled) or stopped to ask a question (waiting_for_input), by source and status',
    labels: ['source', 'status'],
  },
  tokens: {
    name: 'patchbay_model_tokens_total',
    help: 'Model tokens as the model endpoint reported them: prompt (all of it, cached included), cached (the part of prompt served from the cache), completion',
    labels: ['model', 'kind'],
  },
  cost: {
    name: 'patchbay_cost_usd_total',
    help: 'Spend in USD at the prices of patchbay.yml (a model without a price adds nothing)',
    labels: ['model', 'repository'],
  },
} as const;

export const HISTOGRAMS = {
  stages: {
    name: 'patchbay_task_stage_seconds',
    help: "Time a task's attempt spent in each stage; queued is a new task's wait between submit and its first start",
    labels: ['stage'],
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600],
  },
  webhooks: {
    name: 'patchbay_webhook_seconds',
    help: 'Time from a webhook delivery reaching the server to its answer, by source',
    labels: ['source'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  },
  inbox: {
    name: 'patchbay_inbox_lag_seconds',
    help: "Time from a request's acceptance (the answer to its delivery) to the start of making its task, by entry kind",
    labels: ['kind'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  },
} as const;

export type CounterName = keyof typeof COUNTERS;
export type HistogramName = keyof typeof HISTOGRAMS;

/** The `stage` label: the task's stages and its wait in the queue. */
export type MetricStage = TaskStage | 'queued';

/** One series of a counter: its label values in the order of the counter's `labels`. */
export interface CounterSeries {
  labels: string[];
  value: number;
}

/** One series of a histogram: cumulative counts per bucket bound (`le`), in the order of `buckets`. */
export interface HistogramSeries {
  labels: string[];
  buckets: number[];
  sum: number;
  count: number;
}

/** A task as the counts see it. */
export interface CountedTask {
  id: string;
  run: number;
  source: string;
  repository: string;
  model: string;
}

/** Why a task failed, as the dashboard groups it. */
export interface FailureReason {
  code: string;
  message: string;
}

/**
 * Where the worker's and the server's counts go (Redis: shared by every process, each key bounded).
 * Counting never fails a task: callers log and go on.
 */
export interface MetricsRecorder {
  /**
   * The task's usage so far, as its record holds it (summed over attempts and runs). Only what grew
   * since the last call for this task counts, whichever process made it: a retry that reports the
   * usage of earlier attempts again adds nothing.
   */
  countUsage(task: CountedTask, usage: Usage): Promise<void>;
  /** A run's end or question: counted once per task, run and status, whoever reports it again. */
  countEnd(task: CountedTask, status: TaskStatus, failure?: FailureReason): Promise<void>;
  observeStage(stage: MetricStage, seconds: number): Promise<void>;
  /** A new task's wait between submit and its first start (the `queued` stage and the dashboard). */
  observeQueueWait(seconds: number): Promise<void>;
  /** How long the server took to answer a webhook delivery of `source`. */
  observeWebhook(source: string, seconds: number): Promise<void>;
  /** How long an accepted request waited in the inbox before the consumer took it, by entry kind. */
  observeInboxLag(kind: string, seconds: number): Promise<void>;
}

/** What a scrape of `GET /metrics` reads. */
export interface MetricsReader {
  counter(name: CounterName): Promise<CounterSeries[]>;
  histogram(name: HistogramName): Promise<HistogramSeries[]>;
  /** The queue's jobs by BullMQ state (waiting, active, delayed, prioritized, failed, …). */
  jobCounts(): Promise<Record<string, number>>;
}

/** What the dashboard's numbers are made of; days are UTC `YYYY-MM-DD`. */
export interface DashboardSource {
  jobCounts(): Promise<Record<string, number>>;
  /** Ids of the worker processes whose last heartbeat is at or after `since` (ms since the epoch). */
  workersSeenSince(since: number): Promise<string[]>;
  /** Queue waits in seconds of tasks that started at or after `since`, newest first. */
  queueWaitsSince(since: number): Promise<number[]>;
  /** For each day asked, USD spent by repository. */
  spendOn(days: string[]): Promise<Array<Record<string, number>>>;
  /** For each day asked, how many tasks failed for each reason. */
  failuresOn(days: string[]): Promise<Array<Array<FailureReason & { count: number }>>>;
}

/** The UTC day of a time, as the per-day counts are keyed: `2025-01-31`. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The `count` days up to and including the day of `ms`, oldest first. */
export function daysUpTo(ms: number, count: number): string[] {
  const today = Date.parse(`${dayOf(ms)}T00:00:00Z`);
  return Array.from({ length: count }, (_, i) => dayOf(today - (count - 1 - i) * 86_400_000));
}

/**
 * A failure as the dashboard groups it: the error code and the first line of its message, with ids
 * and long numbers blanked so that the same failure on different tasks reads the same, cut to 120
 * characters. The message must be redacted already.
 */
export function toFailureReason(code: string, message: string): FailureReason {
  const line = (message.split('\n', 1)[0] ?? '')
    .replace(/\b[0-9a-f]{7,}\b/gi, '<id>')
    .replace(/\d{4,}/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim();
  return { code: code.slice(0, 60), message: line.length > 120 ? `${line.slice(0, 119)}…` : line };
}
