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

/**
 * How a task's environment was made: from a prepared pool entry (setup had run in it), from one
 * brought to another commit by the repository's maintenance commands, by the whole setup, or not at
 * all (no setup configured).
 */
export const SetupKind = z.enum(['prepared', 'maintenance', 'full', 'none']);
export type SetupKind = z.infer<typeof SetupKind>;

/** Where a task's time went, per stage, in ms: the PR footer's line (publish is the PR itself). */
export interface StageTimes {
  cloneMs: number;
  setup: { kind: SetupKind; ms: number };
  agentMs: number;
  checksMs: number;
}

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
    /**
     * The share of the request (0–1, in characters) that was an unchanged prefix of the one before:
     * what a prompt cache can serve. Absent on the first request of an attempt.
     */
    prefixShare: z.number().min(0).max(1).optional(),
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
  /**
   * The agent made room in its context window: older tool outputs replaced by a line each (`elide`),
   * then, if that was not enough, older turns replaced by a hand-off summary the model wrote
   * (`summary`). Tokens are the prompt's size as the loop counts it, before and after.
   */
  z.object({
    type: z.literal('compaction'),
    ...InAttempt,
    kind: z.enum(['elide', 'summary']),
    /** `limit`: the prompt neared the window; `overflow`: the endpoint answered "context length exceeded". */
    reason: z.enum(['limit', 'overflow']),
    model: z.string(),
    contextWindow: z.number().int().positive(),
    tokensBefore: z.number().int().nonnegative(),
    tokensAfter: z.number().int().nonnegative(),
    /** Tool outputs elided, or messages the summary replaced. */
    messages: z.number().int().nonnegative(),
    /** The task's compactions so far, this one included. */
    compactions: z.number().int().positive(),
  }),
  /**
   * An attempt picked up earlier work instead of starting the agent from nothing: the stored
   * transcript of this task's interrupted or retried attempt (`attempt`), with the work tree kept
   * for it, or the transcript of the conversation's last run for a follow-up (`conversation`).
   */
  z.object({
    type: z.literal('resumed'),
    ...InAttempt,
    from: z.enum(['attempt', 'conversation']),
    /** Messages of the transcript it continues. */
    messages: z.number().int().nonnegative(),
    /** Tool calls of the last stored reply that run again (they may have run before the interruption). */
    rerun: z.number().int().nonnegative(),
    /** The agent had already called finish: only what failed after it runs again. */
    finished: z.boolean(),
  }),
  /** The task's environment was made: how (`setup`), how long it took, the commands it ran. */
  z.object({
    type: z.literal('environment'),
    ...InAttempt,
    setup: SetupKind,
    durationMs: z.number(),
    commands: z.number().int().nonnegative(),
    /** The repository's package cache was mounted (writable) for it; follow-ups get none. */
    cache: z.boolean(),
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
  /**
   * Names the agent's commands asked for and Patchbay's proxy refused (`network: allowlist`), each
   * once with its count; `more` counts the names left out past the first ones.
   */
  z.object({
    type: z.literal('network_blocked'),
    ...InAttempt,
    names: z.array(
      z.object({
        name: z.string(),
        reason: z.enum(['not_listed', 'forbidden_address']),
        count: z.number().int().positive(),
      }),
    ),
    more: z.number().int().nonnegative(),
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
