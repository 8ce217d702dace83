import type { ModelSpec } from '../domain/model-spec.js';
import type { KeptWork } from '../domain/ports.js';
import type { Usage } from '../domain/task.js';
import type { Logger } from '../lib/logger.js';
import { type BudgetHit, checkBudget, noTokens, type TokenCounts, totalUsage } from './budget.js';
import { type ContextMeter, createMeter } from './context-meter.js';
import type { AgentActivity, AgentOutcome, AgentResult, AgentRunInput, ChatMessage } from './types.js';

/** The mutable state of one run of the loop. `steps` is the task's total, earlier runs included. */
export interface AgentSession {
  readonly input: AgentRunInput;
  readonly log: Logger;
  readonly model: ModelSpec;
  readonly toolCapMs: number;
  readonly startedAt: number;
  readonly meter: ContextMeter;
  /** False only where compaction is measured against its absence (bench/). */
  readonly compact: boolean;
  messages: ChatMessage[];
  persistedLength: number;
  steps: number;
  tokens: TokenCounts;
  malformedInRow: number;
  turns: number;
  /** The task's compactions, earlier runs included. */
  compactions: number;
}

export function createSession(opts: {
  input: AgentRunInput;
  messages: ChatMessage[];
  log: Logger;
  model: ModelSpec;
  toolCapMs: number;
  compact: boolean;
}): AgentSession {
  return {
    ...opts,
    startedAt: Date.now(),
    meter: createMeter(opts.model),
    // What the caller stored is where the run began; only what the run adds is handed back.
    persistedLength: opts.input.storedLength ?? opts.input.transcript.length,
    steps: opts.input.usedBefore.steps,
    tokens: noTokens(),
    malformedInRow: 0,
    turns: 0,
    compactions: opts.input.usedBefore.compactions ?? 0,
  };
}

export function sessionUsage(s: AgentSession): Usage {
  return totalUsage(s.input.usedBefore.usage, s.tokens, Date.now() - s.startedAt, s.model.price);
}

export function sessionBudgetHit(s: AgentSession): BudgetHit | undefined {
  return checkBudget({ steps: s.steps, usage: sessionUsage(s) }, s.input.budget);
}

/** Time left in the task's time budget, in ms (never below zero). */
export function timeLeftMs(s: AgentSession): number {
  return Math.max(0, s.input.budget.ms - sessionUsage(s).agentMs);
}

/** What the task has spent, for the caller to store with a turn. */
function spent(s: AgentSession, work?: KeptWork) {
  return { work, steps: s.steps, usage: sessionUsage(s), compactions: s.compactions };
}

/**
 * Hands the messages added since the last call to the caller, which appends them to what it stored.
 * `reply`: they end with a model reply whose tool calls have not run yet, to be stored first with the
 * work tree it applies to (`work`, when it could be kept) and the spend so far.
 */
export async function persist(s: AgentSession, reply?: { work?: KeptWork }): Promise<void> {
  if (!reply && s.persistedLength === s.messages.length) return;
  await s.input.onMessages(s.messages.slice(s.persistedLength), reply ? spent(s, reply.work) : undefined);
  s.persistedLength = s.messages.length;
}

/** Compaction rewrote the transcript: the caller replaces what it stored with it. */
export async function persistRewrite(s: AgentSession, work: KeptWork | undefined): Promise<void> {
  await s.input.onCompacted(s.messages, spent(s, work));
  s.persistedLength = s.messages.length;
}

/**
 * Keeps the work tree as it is now where another worker can resume it (the caller's `keepWork`);
 * undefined when there is no keeper or keeping failed: then the reply is stored without it, and a
 * retry resumes from the last reply that has one. Never throws.
 */
export async function keepWork(s: AgentSession): Promise<KeptWork | undefined> {
  if (!s.input.keepWork) return undefined;
  try {
    return await s.input.keepWork();
  } catch (err) {
    s.log.warn(
      { err: err instanceof Error ? err.message.slice(0, 300) : typeof err },
      'could not keep the work so far',
    );
    return undefined;
  }
}

/** Tells the caller what the agent did; the caller only queues it, and its failure never stops the run. */
export function reportActivity(s: AgentSession, activity: AgentActivity): void {
  try {
    s.input.onActivity?.(activity);
  } catch (err) {
    s.log.warn(
      { activity: activity.type, error: err instanceof Error ? err.name : typeof err },
      'activity report failed',
    );
  }
}

export async function endRun(s: AgentSession, outcome: AgentOutcome): Promise<AgentResult> {
  await persist(s);
  const usage = sessionUsage(s);
  s.log.info(
    {
      outcome: outcome.kind,
      steps: s.steps,
      ms: usage.agentMs,
      promptTokens: usage.promptTokens,
      compactions: s.compactions,
    },
    'agent run ended',
  );
  return {
    outcome,
    steps: s.steps,
    usage,
    transcript: [...s.messages],
    model: s.model.name,
    compactions: s.compactions,
  };
}
