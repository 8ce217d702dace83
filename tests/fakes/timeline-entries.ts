import type { CheckResult } from '../../src/domain/task.js';
import type { TimelineEntry } from '../../src/domain/timeline.js';

type Entry<T extends TimelineEntry['type']> = Extract<TimelineEntry, { type: T }>;

/** Timeline entries for page tests, with plausible defaults; `at` is required so that times line up. */

export function queued(at: string, fields: Partial<Entry<'queued'>> = {}): Entry<'queued'> {
  return {
    type: 'queued',
    at,
    run: 1,
    kind: 'new',
    source: 'api',
    text: 'Fix the login redirect',
    ...fields,
  };
}

export function stage(at: string, name: Entry<'stage'>['stage']): Entry<'stage'> {
  return { type: 'stage', at, run: 1, attempt: 1, stage: name };
}

export function stageEnded(
  at: string,
  name: Entry<'stage'>['stage'],
  durationMs: number,
): Entry<'stage_ended'> {
  return { type: 'stage_ended', at, run: 1, attempt: 1, stage: name, durationMs };
}

export function modelTurn(
  at: string,
  turn: number,
  fields: Partial<Entry<'model_turn'>> = {},
): Entry<'model_turn'> {
  return {
    type: 'model_turn',
    at,
    run: 1,
    attempt: 1,
    turn,
    model: 'gpt-5-codex',
    toolCalls: 1,
    promptTokens: 4_000,
    cachedTokens: 3_000,
    completionTokens: 200,
    usd: 0.004,
    durationMs: 1_800,
    ...fields,
  };
}

export function toolCall(
  at: string,
  step: number,
  tool: string,
  args: Record<string, unknown>,
  output: string,
  fields: Partial<Entry<'tool_call'>> = {},
): Entry<'tool_call'> {
  const first = Object.values(args)[0];
  return {
    type: 'tool_call',
    at,
    run: 1,
    attempt: 1,
    step,
    tool,
    args: JSON.stringify(args),
    detail: `${tool}: ${typeof first === 'string' ? first.split('\n')[0] : ''}`,
    output,
    outputBytes: Buffer.byteLength(output),
    failed: false,
    durationMs: 900,
    ...fields,
  };
}

export function checks(at: string, results: CheckResult[]): Entry<'checks'> {
  return { type: 'checks', at, run: 1, attempt: 1, checks: results };
}

export function outcome(at: string, fields: Partial<Entry<'outcome'>> = {}): Entry<'outcome'> {
  return {
    type: 'outcome',
    at,
    run: 1,
    attempt: 1,
    status: 'succeeded',
    steps: 0,
    usage: { promptTokens: 0, cachedTokens: 0, completionTokens: 0, usd: 0, agentMs: 0 },
    ...fields,
  };
}
