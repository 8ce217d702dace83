import { z } from 'zod';
import { CheckResult, PullRequestRef, TaskResources, TaskStatus, Usage } from './task.js';
import { TaskSource } from './task-request.js';

/**
 * One record of a task's timeline: what the task page and `GET /api/tasks/:id/events` show, appended
 * by whichever worker runs the task as it happens, read by any server process. Every string in it
 * was redacted before it was written. `run` is the task's run (1, plus one per answered question),
 * `attempt` the worker attempt within the task (retries, interruptions).
 */
const At = { at: z.string(), run: z.number().int().positive() };
const InAttempt = { ...At, attempt: z.number().int().nonnegative() };

export const TimelineStage = z.enum(['clone', 'setup', 'agent', 'checks', 'pull_request']);
export type TimelineStage = z.infer<typeof TimelineStage>;

export const TimelineEntry = z.discriminatedUnion('type', [
  /** The task (or its next run: an answer, a retry) was queued. */
  z.object({
    type: z.literal('queued'),
    ...At,
    kind: z.enum(['new', 'answer', 'retry']),
    source: TaskSource,
    requester: z.string().optional(),
    /** The instruction, or the answer for `kind: answer`. */
    text: z.string(),
  }),
  /** A stage began; `durationMs` on the next `stage_ended` of the same stage. */
  z.object({ type: z.literal('stage'), ...InAttempt, stage: TimelineStage }),
  z.object({ type: z.literal('stage_ended'), ...InAttempt, stage: TimelineStage, durationMs: z.number() }),
  /** One model call: its text (what the model wrote between tool calls), tokens and cost. */
  z.object({
    type: z.literal('model_turn'),
    ...InAttempt,
    turn: z.number().int().positive(),
    model: z.string(),
    text: z.string().optional(),
    toolCalls: z.number().int().nonnegative(),
    promptTokens: z.number().int().nonnegative(),
    cachedTokens: z.number().int().nonnegative(),
    completionTokens: z.number().int().nonnegative(),
    usd: z.number().nonnegative().nullable(),
    durationMs: z.number(),
  }),
  /**
   * One tool call and what it returned to the model. `output` may be shortened later to keep the
   * task's log under its cap (`outputBytes` is its size as the model saw it, `shortened` says so).
   */
  z.object({
    type: z.literal('tool_call'),
    ...InAttempt,
    step: z.number().int().nonnegative(),
    tool: z.string(),
    /** The arguments as the model sent them (JSON text, capped). */
    args: z.string(),
    /** One line: `bash: npm test`. */
    detail: z.string(),
    output: z.string(),
    outputBytes: z.number().int().nonnegative(),
    shortened: z.boolean().optional(),
    /** The call was malformed, or the tool failed (a non-zero exit is not a failure of the call). */
    failed: z.boolean(),
    durationMs: z.number(),
  }),
  z.object({ type: z.literal('checks'), ...InAttempt, checks: z.array(CheckResult) }),
  z.object({ type: z.literal('question'), ...At, question: z.string() }),
  z.object({ type: z.literal('pull_request'), ...At, pullRequest: PullRequestRef, created: z.boolean() }),
  /** How a run (or an attempt, when it is retried or interrupted) ended. */
  z.object({
    type: z.literal('outcome'),
    ...InAttempt,
    status: z.union([TaskStatus, z.enum(['retrying', 'interrupted'])]),
    summary: z.string().optional(),
    error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional() }).optional(),
    steps: z.number().int().nonnegative(),
    usage: Usage,
    /** Peak memory and disk against the task's limits, and the commands a limit stopped. */
    resources: TaskResources.optional(),
  }),
  /** Said by the log itself: e.g. that older tool outputs were shortened to keep it under its cap. */
  z.object({ type: z.literal('note'), at: z.string(), text: z.string() }),
]);
export type TimelineEntry = z.infer<typeof TimelineEntry>;
export type TimelineEntryType = TimelineEntry['type'];

/** An entry as stored: its id in the log (a Redis Stream id, increasing) with the entry. */
export interface StoredTimelineEntry {
  id: string;
  entry: TimelineEntry;
}
