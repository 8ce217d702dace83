import { describe, expect, it } from 'vitest';
import type { StoredTimelineEntry, TimelineEntry } from '../../src/domain/timeline.js';
import { firstLine, formatDuration, formatUsd } from '../../src/server/pages/format.js';
import { parseTaskQuery } from '../../src/server/pages/to-dashboard-view.js';
import { currentStage, latestSpend } from '../../src/server/pages/to-task-page-view.js';
import { aTask } from '../fakes/page-data.js';
import { modelTurn, outcome, stage, stageEnded, toolCall } from '../fakes/timeline-entries.js';

const AT = '2026-05-14T15:00:00.000Z';

function stored(entries: TimelineEntry[]): StoredTimelineEntry[] {
  return entries.map((entry, i) => ({ id: String(i + 1), entry }));
}

describe('latestSpend', () => {
  it('counts from the last outcome on, and takes the record when it is further along', () => {
    const usage = {
      promptTokens: 1_000,
      cachedTokens: 500,
      completionTokens: 100,
      usd: 0.5,
      agentMs: 10_000,
    };
    const timeline = stored([
      modelTurn(AT, 1, { promptTokens: 99, completionTokens: 9, usd: 9 }),
      outcome(AT, { status: 'retrying', steps: 4, usage }),
      modelTurn(AT, 5, {
        promptTokens: 200,
        cachedTokens: 100,
        completionTokens: 20,
        usd: 0.25,
        durationMs: 1_000,
      }),
      toolCall(AT, 5, 'bash', { command: 'ls' }, 'exit code: 0', { durationMs: 500 }),
    ]);

    const spent = latestSpend(aTask('t1', { steps: 3, usage: { ...usage, agentMs: 60_000 } }), timeline);

    expect(spent).toEqual({
      steps: 5,
      usage: { promptTokens: 1_200, cachedTokens: 600, completionTokens: 120, usd: 0.75, agentMs: 60_000 },
    });
  });

  it('keeps the cost unknown when the model has no price', () => {
    const task = aTask('t1', {
      usage: { promptTokens: 0, cachedTokens: 0, completionTokens: 0, usd: null, agentMs: 0 },
    });

    expect(latestSpend(task, stored([modelTurn(AT, 1, { usd: null })])).usage.usd).toBeNull();
  });
});

describe('currentStage', () => {
  it('is the stage that began last and has not ended', () => {
    expect(currentStage(stored([stage(AT, 'clone'), stageEnded(AT, 'clone', 5), stage(AT, 'agent')]))).toBe(
      'agent',
    );
    expect(currentStage(stored([stage(AT, 'clone'), stageEnded(AT, 'clone', 5)]))).toBeNull();
    expect(currentStage([])).toBeNull();
  });
});

describe('parseTaskQuery', () => {
  it('keeps known filters and the cursor, and leaves out what it does not know', () => {
    const query = new URLSearchParams({
      status: 'failed',
      source: 'carrier-pigeon',
      repo: ' acme/web ',
      requester: 'x'.repeat(201),
      cursor: 'abc',
    });

    expect(parseTaskQuery(query)).toEqual({ filters: { status: 'failed', repo: 'acme/web' }, cursor: 'abc' });
  });
});

describe('format', () => {
  it('writes durations, costs and titles the way the pages show them', () => {
    expect([850, 4_200, 252_000, 7_380_000].map(formatDuration)).toEqual([
      '850 ms',
      '4.2 s',
      '4m 12s',
      '2h 03m',
    ]);
    expect([null, 0, 0.004, 1.5].map(formatUsd)).toEqual(['—', '$0', '<$0.01', '$1.50']);
    expect(firstLine('Keep the next target after sign-in, and never (ever) redirect off-site', 40)).toBe(
      'Keep the next target after sign-in, and…',
    );
  });
});
