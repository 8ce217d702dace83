import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { z } from 'zod';
import type { StepInfo } from '../domain/events.js';
import type { ModelPrice, ModelSpec } from '../domain/model-spec.js';
import type { KeptWork } from '../domain/ports.js';
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
export type Pricing = ModelPrice;

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
export type AgentActivity = Detail<'model_turn'> | Detail<'tool_call'> | Detail<'compaction'>;

/** What the task has spent when a turn is stored, and the work tree the turn applies to when it was kept. */
export interface TurnRecord {
  /** Absent when there is no keeper (`keepWork`) or keeping failed: the turn is then no resume point. */
  work?: KeptWork;
  steps: number;
  usage: Usage;
  compactions: number;
}

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
  /** Names the bash tool's commands may reach through Patchbay's proxy (`network: allowlist`); none: offline. */
  allowedDomains?: readonly string[];
  /** The model of this run; the agent's default when absent. */
  model?: ModelSpec;
  /**
   * `[]` for a new task. The saved transcript when resuming: at a question (with `answer`), at the
   * stored reply of an interrupted or retried attempt (its tool calls not yet answered run first), or
   * the conversation's last run for a follow-up (with `followUp`).
   */
  transcript: ChatMessage[];
  /** How much of `transcript` the caller has stored for this task already (default: all of it). */
  storedLength?: number;
  /** The user's answer to the pending `ask_user` call when resuming. Untrusted. */
  answer?: string;
  /** A follow-up instruction in the same conversation, appended as a new user turn. Untrusted. */
  followUp?: string;
  budget: Budget;
  /** The longest one command may run (limits.command_seconds); default the agent's own cap. */
  maxCommandMs?: number;
  /** Spend of earlier attempts and runs of this task: budgets count across retries. */
  usedBefore: { steps: number; usage: Usage; compactions?: number };
  signal: AbortSignal;
  /** Called after each tool call, with a small summary for progress displays. */
  onStep(step: StepInfo): void | Promise<void>;
  /**
   * Called as the agent works (see AgentActivity). It must return at once: the caller queues what it
   * keeps, the agent never waits for it. A throw is logged and ignored.
   */
  onActivity?(activity: AgentActivity): void;
  /**
   * Called with the messages added since the last call: first what the run added to `transcript`,
   * then each turn's. Appending them to what was stored is the caller's job. With `turn`, the messages
   * end with a model reply whose tool calls have not run yet: stored now, with the work tree it
   * applies to, a retry continues from it (running those calls again) rather than asking the model.
   */
  onMessages(added: ChatMessage[], turn?: TurnRecord): Promise<void>;
  /** Compaction rewrote the transcript: the caller stores `messages` instead of what it had. */
  onCompacted(messages: ChatMessage[], turn: TurnRecord): Promise<void>;
  /**
   * Keeps the work tree as it is now where any worker can resume it (no agent command runs
   * meanwhile: it is called between turns, while the model thinks). Absent: nothing is kept.
   */
  keepWork?(): Promise<KeptWork>;
  /** The task's own logger (with its id), instead of the agent's. */
  log?: Logger;
}

/** `steps`, `usage` and `compactions` are totals for the task, `usedBefore` included. */
export interface AgentResult {
  outcome: AgentOutcome;
  steps: number;
  usage: Usage;
  transcript: ChatMessage[];
  /** The model's name. */
  model: string;
  compactions: number;
}
