import type { Usage } from '../domain/task.js';
import type { Logger } from '../lib/logger.js';
import { type BudgetHit, checkBudget, noTokens, type TokenCounts, totalUsage } from './budget.js';
import type {
  AgentActivity,
  AgentOutcome,
  AgentResult,
  AgentRunInput,
  ChatMessage,
  Pricing,
} from './types.js';

/** The mutable state of one run of the loop. `steps` is the task's total, earlier runs included. */
export interface AgentSession {
  readonly input: AgentRunInput;
  readonly log: Logger;
  readonly pricing: Pricing | undefined;
  readonly toolCapMs: number;
  readonly startedAt: number;
  messages: ChatMessage[];
  persistedLength: number;
  steps: number;
  tokens: TokenCounts;
  malformedInRow: number;
  turns: number;
}

export function createSession(opts: {
  input: AgentRunInput;
  messages: ChatMessage[];
  log: Logger;
  pricing: Pricing | undefined;
  toolCapMs: number;
}): AgentSession {
  return {
    ...opts,
    startedAt: Date.now(),
    // What the caller stored is the transcript the run began with; only what the run adds is handed back.
    persistedLength: opts.input.transcript.length,
    steps: opts.input.usedBefore.steps,
    tokens: noTokens(),
    malformedInRow: 0,
    turns: 0,
  };
}

export function sessionUsage(s: AgentSession): Usage {
  return totalUsage(s.input.usedBefore.usage, s.tokens, Date.now() - s.startedAt, s.pricing);
}

export function sessionBudgetHit(s: AgentSession): BudgetHit | undefined {
  return checkBudget({ steps: s.steps, usage: sessionUsage(s) }, s.input.budget);
}

/** Time left in the task's time budget, in ms (never below zero). */
export function timeLeftMs(s: AgentSession): number {
  return Math.max(0, s.input.budget.ms - sessionUsage(s).agentMs);
}

/** Hands the messages added since the last call to the caller, which appends them to what it stored. */
export async function persist(s: AgentSession): Promise<void> {
  if (s.persistedLength === s.messages.length) return;
  await s.input.onMessages(s.messages.slice(s.persistedLength));
  s.persistedLength = s.messages.length;
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
    { outcome: outcome.kind, steps: s.steps, ms: usage.agentMs, promptTokens: usage.promptTokens },
    'agent run ended',
  );
  return { outcome, steps: s.steps, usage, transcript: [...s.messages] };
}
