import type { Usage } from '../domain/task.js';
import type { Logger } from '../lib/logger.js';
import { type BudgetHit, checkBudget, noTokens, type TokenCounts, totalUsage } from './budget.js';
import type { AgentOutcome, AgentResult, AgentRunInput, ChatMessage, Pricing } from './types.js';

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
    persistedLength: -1,
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

/** Hands the transcript to the caller when it changed; the caller stores it between runs. */
export async function persist(s: AgentSession): Promise<void> {
  if (s.persistedLength === s.messages.length) return;
  await s.input.onTranscript([...s.messages]);
  s.persistedLength = s.messages.length;
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
