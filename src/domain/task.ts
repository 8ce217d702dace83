import { z } from 'zod';
import { TaskRequest } from './task-request.js';

export const TaskStatus = z.enum([
  'queued',
  'running',
  'waiting_for_input',
  'succeeded',
  'failed',
  'cancelled',
]);
export type TaskStatus = z.infer<typeof TaskStatus>;

export const FINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export const Usage = z.object({
  promptTokens: z.number().int().nonnegative(),
  cachedTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  /** null when the model has no price in config. */
  usd: z.number().nonnegative().nullable(),
  /** Agent wall time across attempts. */
  agentMs: z.number().nonnegative(),
});
export type Usage = z.infer<typeof Usage>;

export const emptyUsage = (): Usage => ({
  promptTokens: 0,
  cachedTokens: 0,
  completionTokens: 0,
  usd: 0,
  agentMs: 0,
});

export const PullRequestRef = z.object({ number: z.number().int().positive(), url: z.string() });
export type PullRequestRef = z.infer<typeof PullRequestRef>;

/** The task-wide limits a command can be stopped by (memory_mb, processes, disk_mb, tmp_mb). */
export const LimitName = z.enum(['memory', 'processes', 'disk', 'tmp']);
export type LimitName = z.infer<typeof LimitName>;

export const CheckResult = z.object({
  command: z.string(),
  exitCode: z.number().int().nullable(),
  timedOut: z.boolean(),
  output: z.string(),
  durationMs: z.number(),
  /** The check was stopped by a task-wide limit: which one, and the sentence that says so. */
  limit: z.object({ name: LimitName, message: z.string() }).optional(),
});
export type CheckResult = z.infer<typeof CheckResult>;

/**
 * What a check came to, the same on every surface: a check that timed out failed whatever its exit
 * code (the process may have exited 0 as it was killed), and one that exited 0 in time passed.
 */
export function checkOutcome(
  check: Pick<CheckResult, 'exitCode' | 'timedOut'>,
): 'passed' | 'failed' | 'timed_out' {
  if (check.timedOut) return 'timed_out';
  return check.exitCode === 0 ? 'passed' : 'failed';
}

/**
 * What a task's commands used of its limits (`limits:` in patchbay.yml), over all its attempts: the
 * peaks and how many commands each limit stopped. A peak is null where it could not be measured.
 */
export const TaskResources = z.object({
  /** cgroup v2 or v1 per task, or (without cgroups) rlimits per process and Patchbay's watchdogs. */
  enforcement: z.enum(['cgroup_v2', 'cgroup_v1', 'rlimits']),
  /** Memory (and swap) of all the task's processes together, page cache included as the kernel counts it. */
  peakMemoryBytes: z.number().int().nonnegative().nullable(),
  memoryLimitBytes: z.number().int().positive(),
  /** The clone plus the in-memory scratch space (/tmp, HOME, /dev/shm). */
  peakDiskBytes: z.number().int().nonnegative().nullable(),
  diskLimitBytes: z.number().int().positive(),
  /** Commands a limit stopped, by limit; absent when none did. */
  limitHits: z.partialRecord(LimitName, z.number().int().positive()).default({}),
});
export type TaskResources = z.infer<typeof TaskResources>;

/** The durable record of one task, kept in Redis (or memory for `patchbay run`). */
export const TaskRecord = z.object({
  id: z.string(),
  conversation: z.string(),
  request: TaskRequest,
  status: TaskStatus,
  steps: z.number().int().nonnegative(),
  /** Worker attempts across all runs (retries, interruptions). */
  attempts: z.number().int().nonnegative(),
  /** Times the task was queued: 1, plus one per answered question. */
  runs: z.number().int().nonnegative(),
  usage: Usage,
  summary: z.string().optional(),
  title: z.string().optional(),
  pullRequest: PullRequestRef.optional(),
  branch: z.string().optional(),
  question: z.string().optional(),
  /** A pending answer to `question`, consumed when the task resumes. */
  answer: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).optional(),
  checks: z.array(CheckResult).default([]),
  createdAt: z.string(),
  updatedAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  /** The model the task runs on (from `models:`), set when an attempt starts. */
  model: z.string().optional(),
  /** Times the agent compacted its transcript, across the task's runs and attempts. */
  compactions: z.number().int().nonnegative().optional(),
  /** A task started again from this one's page (Retry) links both ways. */
  retryOf: z.string().optional(),
  retriedBy: z.string().optional(),
  /** Peak memory and disk of the task's commands against its limits, written as each attempt ends. */
  resources: TaskResources.optional(),
});
export type TaskRecord = z.infer<typeof TaskRecord>;

/**
 * What lists of tasks show of one (the dashboard, `GET /api/tasks`, a conversation's other tasks):
 * small, kept beside the record and rewritten with it.
 */
export const TaskSummary = z.object({
  id: z.string(),
  conversation: z.string(),
  repo: z.string(),
  source: z.string(),
  requester: z.string().optional(),
  /** The instruction's first line, cut short: lists are not the place for the whole request. */
  headline: z.string(),
  status: TaskStatus,
  title: z.string().optional(),
  steps: z.number(),
  usd: z.number().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  pullRequest: PullRequestRef.optional(),
  question: z.string().optional(),
  retryOf: z.string().optional(),
  retriedBy: z.string().optional(),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
});
export type TaskSummary = z.infer<typeof TaskSummary>;

export function toTaskSummary(task: TaskRecord): TaskSummary {
  const firstLine = task.request.instruction.split('\n').find((l) => l.trim()) ?? '';
  return {
    id: task.id,
    conversation: task.conversation,
    repo: task.request.repo,
    source: task.request.origin.source,
    requester: task.request.origin.requester,
    headline: firstLine.length > 160 ? `${firstLine.slice(0, 159)}…` : firstLine,
    status: task.status,
    title: task.title,
    steps: task.steps,
    usd: task.usage.usd,
    error: task.error ? { code: task.error.code, message: task.error.message.slice(0, 300) } : undefined,
    pullRequest: task.pullRequest,
    question: task.question?.slice(0, 500),
    retryOf: task.retryOf,
    retriedBy: task.retriedBy,
    createdAt: task.createdAt,
    startedAt: task.startedAt,
    finishedAt: task.finishedAt,
  };
}

/** A task as it is first stored: queued, run 1, nothing spent. */
export function newTaskRecord(id: string, request: TaskRequest, now = new Date()): TaskRecord {
  const at = now.toISOString();
  return {
    id,
    conversation: request.conversation,
    request,
    status: 'queued',
    steps: 0,
    attempts: 0,
    runs: 1,
    usage: emptyUsage(),
    checks: [],
    createdAt: at,
    updatedAt: at,
  };
}
