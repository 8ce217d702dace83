import type { Usage } from '../domain/task.js';
import type { Budget, BudgetLimit, Pricing } from './types.js';

export interface TokenCounts {
  promptTokens: number;
  /** Part of `promptTokens` served from the prompt cache. */
  cachedTokens: number;
  completionTokens: number;
}

export const noTokens = (): TokenCounts => ({ promptTokens: 0, cachedTokens: 0, completionTokens: 0 });

export function addTokens(a: TokenCounts, b: TokenCounts): TokenCounts {
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    cachedTokens: a.cachedTokens + b.cachedTokens,
    completionTokens: a.completionTokens + b.completionTokens,
  };
}

/**
 * USD for some tokens at a model's price (USD per million). Cached prompt tokens are billed at
 * `cached_input` (or `input` when the price list has none); the rest of the prompt at `input`.
 * `null` when the model has no price.
 */
export function priceTokens(tokens: TokenCounts, pricing: Pricing | undefined): number | null {
  if (!pricing) return null;
  const cached = Math.min(tokens.cachedTokens, tokens.promptTokens);
  const uncached = tokens.promptTokens - cached;
  const cachedRate = pricing.cached_input ?? pricing.input;
  return (
    (uncached * pricing.input + cached * cachedRate + tokens.completionTokens * pricing.output) / 1_000_000
  );
}

/**
 * The task's usage so far: what earlier attempts spent plus this run. A model without a price gives
 * `usd: null`; an earlier attempt without a price counts as zero once the model has one.
 */
export function totalUsage(
  before: Usage,
  run: TokenCounts,
  runMs: number,
  pricing: Pricing | undefined,
): Usage {
  const runUsd = priceTokens(run, pricing);
  return {
    promptTokens: before.promptTokens + run.promptTokens,
    cachedTokens: before.cachedTokens + run.cachedTokens,
    completionTokens: before.completionTokens + run.completionTokens,
    usd: runUsd === null ? null : (before.usd ?? 0) + runUsd,
    agentMs: before.agentMs + runMs,
  };
}

export interface BudgetHit {
  limit: BudgetLimit;
  message: string;
}

/** The first limit reached, with a message naming it and the figures; undefined while within all. */
export function checkBudget(spent: { steps: number; usage: Usage }, budget: Budget): BudgetHit | undefined {
  if (spent.steps >= budget.steps) {
    return {
      limit: 'steps',
      message: `Stopped after ${spent.steps} steps: the step budget is ${budget.steps}.`,
    };
  }
  if (spent.usage.agentMs >= budget.ms) {
    const message = `Stopped after ${formatMs(spent.usage.agentMs)} of agent time: the time budget is ${formatMs(budget.ms)}.`;
    return { limit: 'time', message };
  }
  const usd = spent.usage.usd;
  if (budget.usd !== null && usd !== null && usd >= budget.usd) {
    const message = `Stopped after spending ${formatUsd(usd)}: the cost budget is ${formatUsd(budget.usd)}.`;
    return { limit: 'cost', message };
  }
  return undefined;
}

export function formatMs(ms: number): string {
  const totalSeconds = Math.floor(ms / 1000);
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  if (minutes === 0) return `${seconds}s`;
  return seconds === 0 ? `${minutes}m` : `${minutes}m ${seconds}s`;
}

export function formatUsd(usd: number): string {
  return usd >= 1 || usd === 0 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}
