import { describe, expect, it } from 'vitest';
import { checkBudget, formatMs, formatUsd, priceTokens, totalUsage } from '../../src/agent/budget.js';
import { emptyUsage } from '../../src/domain/task.js';

const price = { input: 1.25, cached_input: 0.125, output: 10 };

describe('priceTokens', () => {
  it('bills uncached input, cached input and output at their own rates', () => {
    const usd = priceTokens(
      { promptTokens: 1_000_000, cachedTokens: 400_000, completionTokens: 100_000 },
      price,
    );

    // 600k × 1.25 + 400k × 0.125 + 100k × 10, per million.
    expect(usd).toBeCloseTo(0.75 + 0.05 + 1, 10);
  });

  it('bills cached input at the input rate when there is no cached price', () => {
    const usd = priceTokens(
      { promptTokens: 2_000_000, cachedTokens: 1_000_000, completionTokens: 0 },
      { input: 2, output: 8 },
    );

    expect(usd).toBeCloseTo(4, 10);
  });

  it('is null for a model without a price', () => {
    expect(priceTokens({ promptTokens: 5, cachedTokens: 0, completionTokens: 5 }, undefined)).toBeNull();
  });
});

describe('totalUsage', () => {
  it('adds this run to what earlier attempts spent', () => {
    const before = { promptTokens: 10, cachedTokens: 4, completionTokens: 2, usd: 0.5, agentMs: 1_000 };

    const usage = totalUsage(
      before,
      { promptTokens: 1_000_000, cachedTokens: 0, completionTokens: 0 },
      250,
      price,
    );

    expect(usage).toEqual({
      promptTokens: 1_000_010,
      cachedTokens: 4,
      completionTokens: 2,
      usd: 1.75,
      agentMs: 1_250,
    });
  });

  it('gives usd null for an unpriced model and counts an unpriced earlier attempt as zero', () => {
    const tokens = { promptTokens: 1_000_000, cachedTokens: 0, completionTokens: 0 };

    expect(totalUsage(emptyUsage(), tokens, 0, undefined).usd).toBeNull();
    expect(totalUsage({ ...emptyUsage(), usd: null }, tokens, 0, price).usd).toBeCloseTo(1.25, 10);
  });
});

describe('checkBudget', () => {
  const budget = { steps: 10, ms: 60_000, usd: 1 };
  const usage = { ...emptyUsage(), usd: 0.2, agentMs: 1_000 };

  it('passes within every limit', () => {
    expect(checkBudget({ steps: 9, usage }, budget)).toBeUndefined();
  });

  it('names the step limit with its figures', () => {
    expect(checkBudget({ steps: 10, usage }, budget)).toEqual({
      limit: 'steps',
      message: 'Stopped after 10 steps: the step budget is 10.',
    });
  });

  it('names the time limit with its figures', () => {
    const hit = checkBudget({ steps: 0, usage: { ...usage, agentMs: 61_500 } }, budget);

    expect(hit).toEqual({
      limit: 'time',
      message: 'Stopped after 1m 1s of agent time: the time budget is 1m.',
    });
  });

  it('names the cost limit with its figures, and has none without a price or a usd budget', () => {
    const spent = { ...usage, usd: 1.2345 };

    expect(checkBudget({ steps: 0, usage: spent }, budget)?.message).toBe(
      'Stopped after spending $1.23: the cost budget is $1.00.',
    );
    expect(checkBudget({ steps: 0, usage: { ...usage, usd: null } }, { ...budget, usd: 0 })).toBeUndefined();
    expect(checkBudget({ steps: 0, usage: spent }, { ...budget, usd: null })).toBeUndefined();
  });
});

describe('formatting', () => {
  it('formats durations and small amounts readably', () => {
    expect(formatMs(59_999)).toBe('59s');
    expect(formatMs(30 * 60_000)).toBe('30m');
    expect(formatUsd(0.00146)).toBe('$0.0015');
    expect(formatUsd(3)).toBe('$3.00');
  });
});
