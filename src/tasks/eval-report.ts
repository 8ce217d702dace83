import type { EvalRun } from './run-eval.js';

/** What one model did on the suite. */
export interface ModelReport {
  model: string;
  resolved: number;
  total: number;
  /** Prompt plus completion tokens of a run: the median and the sum over the suite. */
  tokens: { median: number; total: number };
  /** USD over the suite; null when the model has no price. */
  usd: number | null;
  wallMs: { median: number; total: number };
  steps: { median: number; total: number };
  compactions: number;
  runs: EvalRun[];
}

export function summarizeRuns(runs: EvalRun[]): ModelReport[] {
  const models = [...new Set(runs.map((r) => r.model))];
  return models.map((model) => {
    const mine = runs.filter((r) => r.model === model);
    const tokens = mine.map((r) => r.usage.promptTokens + r.usage.completionTokens);
    const priced = mine.every((r) => r.usage.usd !== null);
    return {
      model,
      resolved: mine.filter((r) => r.resolved).length,
      total: mine.length,
      tokens: { median: median(tokens), total: sum(tokens) },
      usd: priced ? sum(mine.map((r) => r.usage.usd ?? 0)) : null,
      wallMs: { median: median(mine.map((r) => r.wallMs)), total: sum(mine.map((r) => r.wallMs)) },
      steps: { median: median(mine.map((r) => r.steps)), total: sum(mine.map((r) => r.steps)) },
      compactions: sum(mine.map((r) => r.compactions)),
      runs: mine,
    };
  });
}

/** A table per model: each task's run, then the model's totals. */
export function renderReport(reports: ModelReport[]): string {
  return reports.map(renderModel).join('\n\n');
}

function renderModel(r: ModelReport): string {
  const head = `${r.model}: ${r.resolved}/${r.total} resolved · tokens median ${count(r.tokens.median)}, total ${count(
    r.tokens.total,
  )} · ${usd(r.usd)} · wall ${seconds(r.wallMs.total)} (median ${seconds(r.wallMs.median)}) · steps ${r.steps.total} (median ${r.steps.median}) · ${r.compactions} compactions`;
  const rows = r.runs.map((run) => [
    run.task,
    run.resolved ? 'yes' : 'no',
    run.outcome,
    String(run.steps),
    count(run.usage.promptTokens + run.usage.completionTokens),
    usd(run.usage.usd),
    seconds(run.wallMs),
    String(run.compactions),
  ]);
  return [
    head,
    table(['task', 'resolved', 'agent', 'steps', 'tokens', 'cost', 'wall', 'compactions'], rows),
  ].join('\n');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] ?? 0)
    : Math.round(((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2);
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const count = (n: number) => n.toLocaleString('en-US');
const usd = (n: number | null) => (n === null ? 'no price' : `$${n.toFixed(n >= 1 ? 2 : 4)}`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
