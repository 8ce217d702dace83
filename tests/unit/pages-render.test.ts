import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../src/domain/task.js';
import type { StoredTimelineEntry, TimelineEntry } from '../../src/domain/timeline.js';
import { html, safeUrl } from '../../src/server/pages/html.js';
import { renderDashboard } from '../../src/server/pages/render-dashboard.js';
import type { AssetUrls } from '../../src/server/pages/render-layout.js';
import { renderMarkdown } from '../../src/server/pages/render-markdown.js';
import { renderTaskPage } from '../../src/server/pages/render-task-page.js';
import { type TaskPageInput, toTaskPageView } from '../../src/server/pages/to-task-page-view.js';
import type { DashboardView } from '../../src/server/pages/view-models.js';
import { aTask, BUDGET, emptyStats, NOW } from '../fakes/page-data.js';
import { outcome, stage, toolCall } from '../fakes/timeline-entries.js';

const ASSETS: AssetUrls = Object.fromEntries(
  [
    'base.css',
    'task-page.css',
    'timeline.css',
    'diff.css',
    'side.css',
    'dashboard.css',
    'icon.svg',
    'task-page.js',
    'dashboard.js',
  ].map((name) => [name, `/assets/${name}`]),
);
const EVIL = `<script>alert(1)</script><img src=x onerror=alert(2)>`;

function stored(entries: TimelineEntry[]): StoredTimelineEntry[] {
  return entries.map((entry, i) => ({ id: String(i + 1), entry }));
}

function page(task: TaskRecord, more: Partial<TaskPageInput> = {}): string {
  const view = toTaskPageView({
    task,
    timeline: [],
    diff: null,
    conversation: [{ task }],
    budget: BUDGET,
    viewer: { name: 'alice', operator: false },
    mayAct: true,
    now: new Date(NOW),
    ...more,
  });
  return renderTaskPage(view, ASSETS);
}

/** The page's own tags: one module script and the brand's icon; anything more was injected. */
function countTags(markup: string, tag: string): number {
  return markup.split(`<${tag}`).length - 1;
}

describe('html', () => {
  it('escapes every value and lets through only markup built with html', () => {
    const out = html`<p title="${'"><b>'}">${EVIL}${html`<em>${'&'}</em>`}${['<a>', 1, null, false]}</p>`;

    expect(out.value).toBe(
      '<p title="&quot;&gt;&lt;b&gt;">&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;<em>&amp;</em>&lt;a&gt;1</p>',
    );
  });

  it('keeps links to http(s) and to its own paths only', () => {
    expect(
      [
        'https://github.com/a/b/pull/1',
        '/tasks/t1',
        'javascript:alert(1)',
        '//evil.example',
        'data:text/html,x',
      ].map(safeUrl),
    ).toEqual(['https://github.com/a/b/pull/1', '/tasks/t1', '#', '#', '#']);
  });
});

describe('renderMarkdown', () => {
  it('renders Markdown, keeps raw HTML as text and drops script links', () => {
    const out = renderMarkdown(
      `**Fixed** it. ${EVIL}\n\n[docs](https://example.com/x) [bad](javascript:alert(3))`,
    ).value;

    expect(out).toContain('<strong>Fixed</strong>');
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(out).toContain('<a href="https://example.com/x" rel="nofollow noopener noreferrer">docs</a>');
    expect(out).not.toContain('javascript:alert(3)"');
    expect(countTags(out, 'script') + countTags(out, 'img')).toBe(0);
  });
});

describe('renderTaskPage', () => {
  it('escapes what the requester, the model and the repository wrote, wherever it shows', () => {
    const task = aTask('t1', {
      status: 'waiting_for_input',
      question: `Which one? ${EVIL}`,
      summary: `Summary ${EVIL}`,
      request: {
        instruction: `Fix ${EVIL}`,
        origin: { source: 'slack', label: `#eng ${EVIL}`, url: 'javascript:alert(4)', requester: EVIL },
      },
    });
    const timeline = stored([
      stage(new Date(NOW).toISOString(), 'agent'),
      toolCall(new Date(NOW).toISOString(), 1, 'bash', { command: EVIL }, `exit code: 0\n${EVIL}`),
      { type: 'note', at: new Date(NOW).toISOString(), text: EVIL },
    ]);

    const out = page(task, { timeline });

    expect(countTags(out, 'script')).toBe(1);
    expect(countTags(out, 'img')).toBe(1);
    expect(out).not.toContain('onerror=alert(2)>');
    expect(out).not.toContain('href="javascript:');
    expect(out.split('&lt;script&gt;alert(1)&lt;/script&gt;').length - 1).toBeGreaterThanOrEqual(8);
  });

  it('offers Stop while the task runs and Retry once it failed, unless it was retried already', () => {
    const running = page(aTask('t1', { status: 'running' }));
    const failed = page(aTask('t2', { status: 'failed' }));
    const retried = page(aTask('t3', { status: 'failed' }), { retriedBy: 't4' });
    const notTheirs = page(aTask('t5', { status: 'running' }), { mayAct: false });

    expect(running).toMatch(/id="stop" data-action="stop">/);
    expect(running).toMatch(/id="retry" data-action="retry" hidden>/);
    expect(failed).toMatch(/id="stop" data-action="stop" hidden>/);
    expect(failed).toMatch(/id="retry" data-action="retry">/);
    expect(retried).toMatch(/id="retry" data-action="retry" hidden>/);
    expect(retried).toContain('Retried as <a href="/tasks/t4">t4</a>');
    expect(notTheirs).toMatch(/id="stop" data-action="stop" hidden>/);
  });

  it('marks the stage a failed task stopped in, and the ones before it done', () => {
    const at = new Date(NOW).toISOString();
    const timeline = stored([
      stage(at, 'clone'),
      { type: 'stage_ended', at, run: 1, attempt: 1, stage: 'clone', durationMs: 900 },
      stage(at, 'agent'),
      outcome(at, { status: 'failed', error: { code: 'budget_exhausted', message: 'out of steps' } }),
    ]);

    const out = page(
      aTask('t1', { status: 'failed', error: { code: 'budget_exhausted', message: 'out of steps' } }),
      {
        timeline,
      },
    );

    expect(out).toContain('<li class="stage done" data-stage="clone">');
    expect(out).toContain('<li class="stage failed" data-stage="agent">');
    expect(out).toContain('<li class="stage pending" data-stage="checks">');
    expect(out).toContain('<li class="entry entry-outcome failed" data-entry-id="4">');
  });
});

describe('a long timeline', () => {
  it('is marked long past 150 entries, so that only a short one is laid out whole', () => {
    const at = new Date(NOW).toISOString();
    const calls = (n: number) =>
      stored(Array.from({ length: n }, (_, i) => toolCall(at, i + 1, 'read_file', { path: 'a.ts' }, 'x')));

    expect(page(aTask('t1'), { timeline: calls(150) })).toContain('<ol class="timeline" id="timeline"');
    expect(page(aTask('t1'), { timeline: calls(151) })).toContain('<ol class="timeline long" id="timeline"');
  });
});

describe('an outcome with its resources', () => {
  it('shows peak memory and disk against their limits, and how often a limit stopped a command', () => {
    const at = new Date(NOW).toISOString();
    const failure = { code: 'limit_exceeded', message: 'a command passed the memory limit' };
    const resources = {
      enforcement: 'cgroup_v1' as const,
      peakMemoryBytes: 512 * 1024 * 1024,
      memoryLimitBytes: 4096 * 1024 * 1024,
      peakDiskBytes: null,
      diskLimitBytes: 10240 * 1024 * 1024,
      limitHits: { memory: 2 },
    };
    const timeline = stored([outcome(at, { status: 'failed', error: failure, resources })]);

    const out = page(aTask('t1', { status: 'failed', error: failure }), { timeline });

    const line = /<p class="meta resources" title="enforced by cgroup_v1">([^<]*)<\/p>/.exec(out)?.[1];
    expect(line).toBe(
      'memory 512 MiB of 4 GiB · disk unmeasured of 10 GiB · the memory limit stopped 2 commands',
    );
  });
});

describe('what a long or resumed run adds to the timeline', () => {
  it('says how the context was compacted and from where an attempt continued', () => {
    const at = new Date(NOW).toISOString();
    const stamp = { at, run: 1, attempt: 2 };
    const timeline = stored([
      {
        type: 'compaction',
        ...stamp,
        kind: 'elide',
        reason: 'limit',
        model: 'qwen3-coder',
        contextWindow: 32_768,
        tokensBefore: 27_100,
        tokensAfter: 9_800,
        messages: 6,
        compactions: 1,
      },
      { type: 'resumed', ...stamp, from: 'attempt', messages: 31, rerun: 1, finished: false },
      { type: 'resumed', ...stamp, from: 'conversation', messages: 12, rerun: 0, finished: false },
      {
        type: 'network_blocked',
        ...stamp,
        names: [
          { name: 'evil.example.com', reason: 'not_listed', count: 2 },
          { name: 'db.example.org', reason: 'forbidden_address', count: 1 },
        ],
        more: 3,
      },
    ]);

    const out = page(aTask('t1'), { timeline });

    const titles = [
      ...out.matchAll(
        /<li class="entry entry-(compaction|resumed|network_blocked)"[^>]*>.*?<p class="entry-title">(.*?)<\/p>/g,
      ),
    ].map((m) => m[2]?.replace(/<[^>]+>/g, ''));
    expect(titles).toEqual([
      'Context compacted 6 older tool outputs elided · near the window · 27.1k → 9.8k of 32.8k tokens',
      'Continued the interrupted attempt 31 messages · 1 tool call run again',
      'Continued the conversation&#39;s last run 12 messages',
      'Network requests refused evil.example.com ×2, db.example.org (private address) and 3 more',
    ]);
  });
});

describe('how the environment was made', () => {
  it('says whether setup was skipped, replaced by maintenance or run in full', () => {
    const stamp = { at: new Date(NOW).toISOString(), run: 1, attempt: 1 };
    const timeline = stored([
      { type: 'environment', ...stamp, setup: 'prepared', durationMs: 12, commands: 0, cache: false },
      { type: 'environment', ...stamp, setup: 'maintenance', durationMs: 1_500, commands: 1, cache: true },
      { type: 'environment', ...stamp, setup: 'full', durationMs: 42_000, commands: 2, cache: true },
    ]);

    const out = page(aTask('t1'), { timeline });

    const titles = [
      ...out.matchAll(/<li class="entry entry-environment"[^>]*>.*?<p class="entry-title">(.*?)<\/p>/g),
    ].map((m) => m[1]?.replace(/<[^>]+>/g, ''));
    expect(titles).toEqual([
      'Environment: prepared entry, setup skipped 12 ms · 0 commands',
      'Environment: prepared entry, maintenance ran 1.5 s · 1 command · package cache',
      'Environment: full setup 42.0 s · 2 commands · package cache',
    ]);
  });
});

describe('the conversation card', () => {
  it("lists the conversation's tasks oldest first, this one marked, with the question and its answer", () => {
    const first = aTask('t1', {
      status: 'succeeded',
      createdAt: '2026-05-14T10:00:00.000Z',
      question: 'Which locale?',
      answer: 'German',
      request: { instruction: 'Translate the emails' },
    });
    const followUp = aTask('t2', {
      status: 'running',
      createdAt: '2026-05-14T12:00:00.000Z',
      request: {
        instruction: 'Also the subject lines',
        origin: { source: 'slack', label: 'x', requester: 'maria' },
      },
    });

    const out = page(followUp, { conversation: [{ task: followUp }, { task: first }] });

    const card = out.slice(out.indexOf('id="conversation"'));
    expect(card.indexOf('Translate the emails')).toBeLessThan(card.indexOf('Also the subject lines'));
    expect(card).toContain('<a href="/tasks/t1">Translate the emails</a>');
    expect(card).toContain('<strong>Also the subject lines</strong>');
    expect(card).toContain('<span class="qa-label">Asked</span> Which locale?');
    expect(card).toContain('<span class="qa-label">Answer</span> German');
    expect(card).toContain('Running · 3 h ago · maria');
  });

  it("leaves the card out when the task is the conversation's only one", () => {
    expect(page(aTask('t1'))).toContain('<div id="conversation"></div>');
  });
});

describe('renderDashboard', () => {
  function dashboard(more: Partial<DashboardView>): string {
    return renderDashboard(
      {
        filters: {},
        repositories: ['acme/web'],
        tasks: [],
        stats: emptyStats(),
        viewer: { name: 'alice', operator: true },
        now: new Date(NOW).toISOString(),
        ...more,
      },
      ASSETS,
    );
  }

  it('keeps the chosen filters in the form and in the paging links', () => {
    const out = dashboard({
      filters: { status: 'failed', repo: 'acme/gone', requester: 'o"brien' },
      cursor: 'c1',
      nextCursor: 'c2',
    });

    expect(out).toContain('<option value="failed" selected>Failed</option>');
    expect(out).toContain('<option value="acme/gone" selected>acme/gone</option>');
    expect(out).toContain('value="o&quot;brien"');
    expect(out).toContain(
      'href="/tasks?status=failed&amp;repo=acme%2Fgone&amp;requester=o%22brien&amp;cursor=c2"',
    );
    expect(out).toContain(
      'href="/tasks?status=failed&amp;repo=acme%2Fgone&amp;requester=o%22brien">← Newest',
    );
    expect(out).toContain('No task matches these filters.');
  });

  it('draws an empty month as an empty chart that says so', () => {
    const out = dashboard({});

    expect(out).toContain('Nothing spent in the last 30 days.');
    expect(countTags(out, 'rect')).toBe(0);
  });
});
