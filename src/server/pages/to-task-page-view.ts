import type { TaskDiff } from '../../domain/ports.js';
import type { TaskRecord, Usage } from '../../domain/task.js';
import type { StoredTimelineEntry, TimelineStage } from '../../domain/timeline.js';
import { firstLine } from './format.js';
import type { ConversationTaskView, TaskBudget, TaskPageView, ViewerView } from './view-models.js';

export interface TaskPageInput {
  task: TaskRecord;
  timeline: StoredTimelineEntry[];
  diff: TaskDiff | null;
  /** The conversation's tasks (this one may be among them), with what each retried. */
  conversation: Array<{ task: TaskRecord; retryOf?: string }>;
  budget: TaskBudget;
  retryOf?: string;
  retriedBy?: string;
  viewer: ViewerView;
  /** Whether the viewer may stop or retry the task (write access to its repository). */
  mayAct: boolean;
  now: Date;
}

/** The title a task goes by on the pages: the PR title the agent chose, else the instruction's first line. */
export function taskTitle(task: TaskRecord): string {
  return task.title ?? firstLine(task.request.instruction, 90);
}

/** A task's page from its record, timeline and diff. */
export function toTaskPageView(input: TaskPageInput): TaskPageView {
  const { task } = input;
  const request = task.request;
  const active = task.status === 'queued' || task.status === 'running' || task.status === 'waiting_for_input';
  const failedOrCancelled = task.status === 'failed' || task.status === 'cancelled';
  const spent = latestSpend(task, input.timeline);
  return {
    id: task.id,
    title: taskTitle(task),
    status: task.status,
    stage: task.status === 'running' ? currentStage(input.timeline) : null,
    repo: request.repo,
    ...(request.base ? { base: request.base } : {}),
    ...(task.branch ? { branch: task.branch } : {}),
    instruction: request.instruction,
    origin: request.origin,
    createdAt: task.createdAt,
    ...(task.startedAt ? { startedAt: task.startedAt } : {}),
    ...(task.finishedAt ? { finishedAt: task.finishedAt } : {}),
    steps: spent.steps,
    usage: spent.usage,
    budget: input.budget,
    ...(task.summary ? { summary: task.summary } : {}),
    ...(task.question ? { question: task.question } : {}),
    ...(task.error ? { error: task.error } : {}),
    ...(task.pullRequest ? { pullRequest: task.pullRequest } : {}),
    checks: task.checks,
    timeline: input.timeline,
    diff: input.diff,
    conversation: toConversation(input.conversation),
    ...(input.retryOf ? { retryOf: input.retryOf } : {}),
    ...(input.retriedBy ? { retriedBy: input.retriedBy } : {}),
    mayAct: input.mayAct,
    actions: {
      stop: input.mayAct && active,
      retry: input.mayAct && failedOrCancelled && !input.retriedBy,
    },
    eventsUrl: `/api/tasks/${encodeURIComponent(task.id)}/events`,
    viewer: input.viewer,
    now: input.now.toISOString(),
  };
}

/**
 * Steps and usage as of the newest entry: the record is rewritten after each step, the timeline gets
 * each model turn as it ends, so whichever is further along counts (the last outcome's totals plus
 * what came after it). The page's script goes on the same way from there.
 */
export function latestSpend(
  task: TaskRecord,
  timeline: readonly StoredTimelineEntry[],
): { steps: number; usage: Usage } {
  let steps = 0;
  let usage: Usage = { promptTokens: 0, cachedTokens: 0, completionTokens: 0, usd: 0, agentMs: 0 };
  for (const { entry } of timeline) {
    if (entry.type === 'outcome') {
      steps = entry.steps;
      usage = { ...entry.usage };
    } else if (entry.type === 'model_turn') {
      usage.promptTokens += entry.promptTokens;
      usage.cachedTokens += entry.cachedTokens;
      usage.completionTokens += entry.completionTokens;
      usage.usd = entry.usd === null || usage.usd === null ? null : usage.usd + entry.usd;
      usage.agentMs += entry.durationMs;
    } else if (entry.type === 'tool_call') {
      steps = Math.max(steps, entry.step);
      usage.agentMs += entry.durationMs;
    }
  }
  const r = task.usage;
  return {
    steps: Math.max(task.steps, steps),
    usage: {
      promptTokens: Math.max(r.promptTokens, usage.promptTokens),
      cachedTokens: Math.max(r.cachedTokens, usage.cachedTokens),
      completionTokens: Math.max(r.completionTokens, usage.completionTokens),
      usd: r.usd === null || usage.usd === null ? r.usd : Math.max(r.usd, usage.usd),
      agentMs: Math.max(r.agentMs, usage.agentMs),
    },
  };
}

/** The stage a running task is in: the last one that began and has not ended. */
export function currentStage(timeline: readonly StoredTimelineEntry[]): TimelineStage | null {
  for (let i = timeline.length - 1; i >= 0; i--) {
    const entry = timeline[i]?.entry;
    if (entry?.type === 'stage_ended' || entry?.type === 'outcome') return null;
    if (entry?.type === 'stage') return entry.stage;
  }
  return null;
}

function toConversation(tasks: TaskPageInput['conversation']): ConversationTaskView[] {
  return [...tasks]
    .sort((a, b) => a.task.createdAt.localeCompare(b.task.createdAt) || a.task.id.localeCompare(b.task.id))
    .map(({ task, retryOf }) => ({
      id: task.id,
      title: taskTitle(task),
      status: task.status,
      createdAt: task.createdAt,
      ...(task.request.origin.requester ? { requester: task.request.origin.requester } : {}),
      ...(task.question ? { question: task.question } : {}),
      ...(task.answer ? { answer: task.answer } : {}),
      ...(retryOf ? { retryOf } : {}),
    }));
}
