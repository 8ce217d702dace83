import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { z } from 'zod';
import type { StepInfo } from '../domain/events.js';
import type { Usage } from '../domain/task.js';
import type { TimelineEntry } from '../domain/timeline.js';
import type { Logger } from '../lib/logger.js';
import type { Sandbox } from '../sandbox/types.js';

/**
 * One message of the Chat Completions transcript, exactly as sent to the model. Plain JSON: the
 * transcript is stored in Redis between runs and sent back unchanged (append-only, for prompt caching).
 */
export type ChatMessage = ChatCompletionMessageParam;

/**
 * A loose check for a transcript read back from storage: every entry is an object with a known role.
 * The model endpoint validates the rest; this only keeps garbage out of the loop.
 */
export const ChatMessage: z.ZodType<ChatMessage> = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
}) as unknown as z.ZodType<ChatMessage>;

/** Per-task limits. `steps` counts tool calls; `usd` null means no cost limit. */
export interface Budget {
  steps: number;
  ms: number;
  usd: number | null;
}

/** USD per million tokens. `cached_input` defaults to `input` (no discount) when absent. */
export interface Pricing {
  input: number;
  cached_input?: number;
  output: number;
}

export type BudgetLimit = 'steps' | 'time' | 'cost';

export type AgentOutcome =
  | { kind: 'finished'; title: string; summary: string }
  | { kind: 'question'; question: string }
  | { kind: 'budget'; limit: BudgetLimit; message: string }
  | { kind: 'cancelled'; reason: string };

type Detail<T extends TimelineEntry['type']> = Omit<
  Extract<TimelineEntry, { type: T }>,
  'at' | 'run' | 'attempt'
>;

/**
 * What the agent did, in full, for the task's timeline: each model turn (its text, tokens, cost) and
 * then each of its tool calls with the output exactly as the model got it. Never for chat or trackers:
 * tool output may hold anything the repository holds.
 */
export type AgentActivity = Detail<'model_turn'> | Detail<'tool_call'>;

export interface AgentRunInput {
  /** Host path of the clone; file tools act on it directly, with path checks. */
  workdir: string;
  /** Runs `bash` tool calls; `readOnlyPaths` are passed to every `sandbox.run`. */
  sandbox: Sandbox;
  readOnlyPaths: string[];
  /** Untrusted. */
  instruction: string;
  /** Untrusted (thread or issue history). */
  context?: string;
  repo: string;
  branch: string;
  /** `[]` for a new task; the saved transcript when resuming. */
  transcript: ChatMessage[];
  /** The user's answer to the pending `ask_user` call when resuming. Untrusted. */
  answer?: string;
  /** A follow-up instruction in the same conversation, appended as a new user turn. Untrusted. */
  followUp?: string;
  budget: Budget;
  /** The model for this run instead of the agent's own (a schedule's `model`). */
  model?: string;
  /** Spend of earlier attempts and runs of this task: budgets count across retries. */
  usedBefore: { steps: number; usage: Usage };
  signal: AbortSignal;
  /** Called after each tool call, with a small summary for progress displays. */
  onStep(step: StepInfo): void | Promise<void>;
  /**
   * Called as the agent works (see AgentActivity). It must return at once: the caller queues what it
   * keeps, the agent never waits for it. A throw is logged and ignored.
   */
  onActivity?(activity: AgentActivity): void;
  /**
   * Called after each turn with the messages added since the last call: first what the run added to
   * `transcript`, then each turn's. Appending them to what was stored is the caller's job.
   */
  onMessages(added: ChatMessage[]): Promise<void>;
  /** The task's own logger (with its id), instead of the agent's. */
  log?: Logger;
}

/** `steps` and `usage` are totals for the task, `usedBefore` included. */
export interface AgentResult {
  outcome: AgentOutcome;
  steps: number;
  usage: Usage;
  transcript: ChatMessage[];
}
