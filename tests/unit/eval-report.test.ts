import { describe, expect, it } from 'vitest';
import { emptyUsage } from '../../src/domain/task.js';
import { renderReport, summarizeRuns } from '../../src/tasks/eval-report.js';
import type { EvalRun } from '../../src/tasks/run-eval.js';

function aRun(overrides: Partial<EvalRun>): EvalRun {
  return {
    model: 'm',
    task: 't',
    resolved: true,
    outcome: 'finished',
    steps: 4,
    usage: { ...emptyUsage(), promptTokens: 1_000, completionTokens: 100, usd: 0.01 },
    compactions: 0,
    wallMs: 2_000,
    hiddenTests: { exitCode: 0, timedOut: false },
    dir: '/tmp/x',
    ...overrides,
  };
}

describe('the eval report', () => {
  it('sums each model: resolved of total, median and total tokens, cost, wall time, steps, compactions', () => {
    const runs = [
      aRun({ model: 'a', task: 'one' }),
      aRun({ model: 'a', task: 'two', resolved: false, steps: 10, compactions: 2, wallMs: 6_000 }),
      aRun({
        model: 'a',
        task: 'three',
        usage: { ...emptyUsage(), promptTokens: 5_000, completionTokens: 500, usd: 0.05 },
      }),
      aRun({
        model: 'b',
        task: 'one',
        usage: { ...emptyUsage(), promptTokens: 10, completionTokens: 1, usd: null },
      }),
    ];

    const [a, b] = summarizeRuns(runs);
    const text = renderReport(summarizeRuns(runs));

    expect(a).toMatchObject({
      model: 'a',
      resolved: 2,
      total: 3,
      tokens: { median: 1_100, total: 7_700 },
      wallMs: { median: 2_000, total: 10_000 },
      steps: { median: 4, total: 18 },
      compactions: 2,
    });
    expect(a?.usd).toBeCloseTo(0.07);
    expect(b).toMatchObject({ resolved: 1, total: 1, usd: null });
    expect(text).toContain(
      'a: 2/3 resolved · tokens median 1,100, total 7,700 · $0.0700 · wall 10.0s (median 2.0s) · steps 18 (median 4) · 2 compactions',
    );
    expect(text).toContain('| two   | no       | finished | 10    | 1,100  | $0.0100 | 6.0s | 2           |');
    expect(text).toContain('b: 1/1 resolved');
    expect(text).toContain('no price');
  });
});
