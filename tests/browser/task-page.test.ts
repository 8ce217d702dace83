import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TimelineEntry } from '../../src/domain/timeline.js';
import { openBrowser, saveScreenshot, type TestBrowser, type WatchedPage } from '../fakes/chromium.js';
import { aTask, createPageData, type PageData } from '../fakes/page-data.js';
import { type PageServer, startPageServer } from '../fakes/page-server.js';
import { FINISHING_ENTRIES, RUNNING_ENTRIES, SAMPLE_DIFF, sampleTask } from '../fakes/sample-run.js';

/**
 * What a long or resumed run adds: how its environment was made, the agent compacting its context,
 * an attempt continuing another.
 */
const CONTEXT_ENTRIES: TimelineEntry[] = [
  {
    type: 'environment',
    at: '2026-11-30T10:01:29.000Z',
    run: 1,
    attempt: 1,
    setup: 'maintenance',
    durationMs: 1_240,
    commands: 1,
    cache: true,
  },
  {
    type: 'compaction',
    at: '2026-11-30T10:01:30.000Z',
    run: 1,
    attempt: 1,
    kind: 'elide',
    reason: 'limit',
    model: 'gpt-5-codex',
    contextWindow: 32_768,
    tokensBefore: 27_100,
    tokensAfter: 9_800,
    messages: 6,
    compactions: 1,
  },
  {
    type: 'compaction',
    at: '2026-11-30T10:01:31.000Z',
    run: 1,
    attempt: 1,
    kind: 'summary',
    reason: 'overflow',
    model: 'gpt-5-codex',
    contextWindow: 32_768,
    tokensBefore: 33_000,
    tokensAfter: 2_400,
    messages: 1,
    compactions: 2,
  },
  {
    type: 'resumed',
    at: '2026-11-30T10:01:32.000Z',
    run: 1,
    attempt: 2,
    from: 'attempt',
    messages: 31,
    rerun: 1,
    finished: true,
  },
  {
    type: 'network_blocked',
    at: '2026-11-30T10:01:33.000Z',
    run: 1,
    attempt: 2,
    names: [{ name: 'evil.example.com', reason: 'not_listed', count: 2 }],
    more: 0,
  },
];

let browser: TestBrowser;
let data: PageData;
let server: PageServer;
let tab: WatchedPage;

beforeAll(async () => {
  browser = await openBrowser();
});

afterAll(async () => {
  await browser.close();
});

beforeEach(async () => {
  data = createPageData();
  server = await startPageServer(data);
  tab = await browser.newPage();
});

afterEach(async () => {
  await tab.page.close();
  await server.close();
});

/** The page's timeline ids, in order. */
function entryIds(): Promise<string[]> {
  return tab.page.$$eval('#timeline > li', (items) =>
    items.map((li) => li.getAttribute('data-entry-id') ?? ''),
  );
}

async function lastId(taskId: string): Promise<string> {
  return (await data.timeline.read(taskId)).at(-1)?.id ?? '';
}

async function openLive(taskId: string): Promise<void> {
  await tab.page.goto(`${server.url}/tasks/${taskId}`);
  await tab.page.locator('#live[data-state="live"]').waitFor();
}

describe('the task page of a running task', () => {
  it('appends the entries that happen after it opened, and moves the status, the stage and the budget', async () => {
    data.add(sampleTask('t1', 'running', RUNNING_ENTRIES.slice(0, 6)));
    await data.append('t1', ...RUNNING_ENTRIES.slice(0, 6));
    await openLive('t1');
    expect(await tab.page.locator('#timeline > li').count()).toBe(4);

    await data.append('t1', ...RUNNING_ENTRIES.slice(6));
    await tab.page.locator(`#timeline > li[data-entry-id="${await lastId('t1')}"]`).waitFor();

    expect(await tab.page.locator('#timeline .entry-tool').count()).toBe(7);
    expect(await tab.page.locator('[data-meter="steps"] .meter-value').textContent()).toBe('7 of 100');
    expect(
      await tab.page
        .locator('[data-meter="steps"] meter')
        .evaluate((m) => (m as unknown as { value: number }).value),
    ).toBe(7);
    expect(await tab.page.locator('[data-meter="tokens"] .meter-value').textContent()).toBe('57.9k');
    expect(await tab.page.locator('[data-meter="time"] .meter-value').textContent()).toBe('21.7 s of 30 min');
    expect(await tab.page.locator('#stages .stage.current').textContent()).toBe('Agent');
    expect(await tab.page.locator('#task-status').textContent()).toBe('Running');
    expect(await tab.page.locator('#stop').isVisible()).toBe(true);
    await saveScreenshot(tab.page, 'task-running');

    data.tasks.set('t1', sampleTask('t1', 'finished'));
    await data.diffs.put('t1', SAMPLE_DIFF);
    await data.append('t1', ...FINISHING_ENTRIES);
    await tab.page.locator('#live[data-state="done"]').waitFor({ state: 'attached' });
    await tab.page.locator('#changes .diff-file').first().waitFor();

    expect(await tab.page.locator('#task-status').textContent()).toBe('Succeeded');
    expect(await tab.page.locator('#changes .diff-file').count()).toBe(3);
    expect(await tab.page.locator('#summary').textContent()).toContain('Sign-in now returns people');
    expect(await tab.page.locator('#pull-request a.pr-link').getAttribute('href')).toBe(
      'https://github.com/acme/web/pull/482',
    );
    expect(await tab.page.locator('#stop').isVisible()).toBe(false);
    expect(tab.problems).toEqual([]);
  });

  it('renders live entries exactly as the server renders them', async () => {
    const all = [...RUNNING_ENTRIES, ...CONTEXT_ENTRIES, ...FINISHING_ENTRIES];
    data.add(sampleTask('served', 'finished'), sampleTask('live', 'running'));
    await data.append('served', ...all);
    await data.append('live', all[0] as TimelineEntry);
    await tab.page.goto(`${server.url}/tasks/served`);
    const served = await canonicalTimeline();
    await openLive('live');

    await data.append('live', ...all.slice(1));
    await tab.page.locator('#live[data-state="done"]').waitFor({ state: 'attached' });

    expect(await canonicalTimeline()).toEqual(served);
    expect(served).toHaveLength(all.filter((e) => e.type !== 'stage_ended').length);
  });

  it('picks up where it left off after the stream drops, without showing an entry twice', async () => {
    data.add(sampleTask('t1', 'running'));
    await data.append('t1', ...RUNNING_ENTRIES.slice(0, 8));
    await openLive('t1');
    await data.append('t1', RUNNING_ENTRIES[8] as TimelineEntry);
    const seen = await lastId('t1');
    await tab.page.locator(`#timeline > li[data-entry-id="${seen}"]`).waitFor();

    const reconnected = server.nextStream();
    server.dropStreams();
    expect(await reconnected).toBe(seen);
    await data.append('t1', ...RUNNING_ENTRIES.slice(9));
    await tab.page.locator(`#timeline > li[data-entry-id="${await lastId('t1')}"]`).waitFor();

    const ids = await entryIds();
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(RUNNING_ENTRIES.filter((e) => e.type !== 'stage_ended').length);
  });
});

describe('the timeline', () => {
  it('collapses and expands a tool call', async () => {
    data.add(sampleTask('t1', 'running'));
    await data.append('t1', ...RUNNING_ENTRIES);
    await tab.page.goto(`${server.url}/tasks/t1`);
    const call = tab.page.locator('#timeline .entry-tool details').first();
    const output = call.locator('pre.output');
    expect(await output.isVisible()).toBe(false);

    await call.locator('summary').click();

    expect(await output.isVisible()).toBe(true);
    expect(await output.textContent()).toContain(
      "src/auth/login.ts:42:    return res.redirect('/dashboard');",
    );
    expect(await call.locator('dl.args dd').first().textContent()).toBe('rg -n "dashboard" src/auth');

    await call.locator('summary').click();

    expect(await output.isVisible()).toBe(false);
  });

  it('shows a 500-step task, its first screen first, and says which outputs were shortened', async () => {
    data.add(aTask('big', { status: 'running', steps: 500 }));
    await data.append('big', ...fiveHundredSteps());

    await tab.page.goto(`${server.url}/tasks/big`);

    expect(await tab.page.locator('#timeline .entry-tool').count()).toBe(500);
    const viewport = tab.page.viewportSize();
    const heading = await tab.page.locator('h1').boundingBox();
    const first = await tab.page.locator('#timeline > li').first().boundingBox();
    expect(heading && viewport && heading.y + heading.height <= viewport.height).toBe(true);
    expect(first && viewport && first.y < viewport.height).toBe(true);
    expect(await tab.page.locator('#timeline .entry-note').first().textContent()).toContain(
      'older tool outputs were shortened',
    );
    expect(await tab.page.locator('#timeline .entry-tool .badge', { hasText: 'shortened' }).count()).toBe(
      100,
    );
    expect(await tab.page.locator('#calls-count').textContent()).toBe('500');
  });
});

describe('escaping', () => {
  const PAYLOAD = `<script>fetch('/probe?script')</script><img src="/probe?img" onerror="fetch('/probe?onerror')">`;

  it('shows markup in tool output, model text, the instruction and the summary as text, and runs none of it', async () => {
    data.add(
      aTask('t1', {
        status: 'running',
        summary: `Done. ${PAYLOAD} [link](javascript:fetch('/probe?link'))`,
        request: { instruction: `Please ${PAYLOAD}` },
      }),
    );
    await data.append('t1', {
      type: 'tool_call',
      at: new Date().toISOString(),
      run: 1,
      attempt: 1,
      step: 1,
      tool: 'bash',
      args: JSON.stringify({ command: `echo '${PAYLOAD}'` }),
      detail: `bash: echo '${PAYLOAD}'`,
      output: `exit code: 0\n${PAYLOAD}`,
      outputBytes: 100,
      failed: false,
      durationMs: 5,
    });
    await openLive('t1');

    await data.append('t1', {
      type: 'model_turn',
      at: new Date().toISOString(),
      run: 1,
      attempt: 1,
      turn: 2,
      model: `m${PAYLOAD}`,
      text: `Live: ${PAYLOAD}`,
      toolCalls: 0,
      promptTokens: 1,
      cachedTokens: 0,
      completionTokens: 1,
      usd: 0,
      durationMs: 1,
    });
    await tab.page.locator('#timeline .model-text', { hasText: 'Live:' }).waitFor();

    expect(await tab.page.locator('#timeline pre.output').first().textContent()).toBe(
      `exit code: 0\n${PAYLOAD}`,
    );
    expect(await tab.page.locator('#timeline .model-text').textContent()).toBe(`Live: ${PAYLOAD}`);
    expect(await tab.page.locator('#request .instruction').textContent()).toBe(`Please ${PAYLOAD}`);
    expect(await tab.page.locator('#summary').textContent()).toContain('<script>');
    const injected = await tab.page.$$eval(
      '#task script, #task img, #task [onerror], #task a[href^="javascript"]',
      (found) => found.length,
    );
    expect(injected).toBe(0);
    // A request the page makes itself, after everything above: no probe may have come before it.
    await tab.page.evaluate(() => fetch('/probe?end'));
    expect(server.probes).toEqual(['/probe?end']);
    expect(tab.problems).toEqual([]);
  });
});

describe('Stop and Retry', () => {
  it('posts Stop as JSON with the session cookie and shows the outcome', async () => {
    await browser.context.addCookies([{ name: 'session', value: 's1', url: 'http://127.0.0.1' }]);
    data.add(sampleTask('t1', 'running'));
    await data.append('t1', ...RUNNING_ENTRIES.slice(0, 3));
    await tab.page.goto(`${server.url}/tasks/t1`);

    await tab.page.locator('#stop').click();
    await tab.page.locator('#action-result', { hasText: 'Stop requested' }).waitFor();

    expect(server.posts).toEqual([
      {
        path: '/api/tasks/t1/cancel',
        contentType: 'application/json',
        cookie: 'session=s1',
        origin: server.url,
        body: '{}',
      },
    ]);
  });

  it('retries a failed task and goes to the new task, linked from both pages', async () => {
    data.add(
      aTask('t1', {
        status: 'failed',
        error: { code: 'budget_exhausted', message: 'Stopped after 100 steps: the step budget is 100.' },
        finishedAt: new Date().toISOString(),
      }),
    );
    await tab.page.goto(`${server.url}/tasks/t1`);
    expect(await tab.page.locator('#stop').isVisible()).toBe(false);

    await tab.page.locator('#retry').click();
    await tab.page.waitForURL(`${server.url}/tasks/t1r1`);

    expect(server.posts.map((p) => [p.path, p.contentType])).toEqual([
      ['/api/tasks/t1/retry', 'application/json'],
    ]);
    expect(await tab.page.locator('.task-facts a[href="/tasks/t1"]').textContent()).toBe('t1');
    await tab.page.goto(`${server.url}/tasks/t1`);
    expect(await tab.page.locator('.task-facts .retried a').getAttribute('href')).toBe('/tasks/t1r1');
    expect(await tab.page.locator('#retry').isVisible()).toBe(false);
  });
});

describe('a finished task', () => {
  it('shows the summary, the diff as a reviewer reads it, and the checks', async () => {
    data.add(sampleTask('t1', 'finished'));
    await data.append('t1', ...RUNNING_ENTRIES, ...FINISHING_ENTRIES);
    await data.diffs.put('t1', SAMPLE_DIFF);

    await tab.page.goto(`${server.url}/tasks/t1`);

    expect(await tab.page.locator('#live').getAttribute('data-state')).toBe('done');
    expect(await tab.page.locator('#changes .diff-files li').count()).toBe(3);
    expect(await tab.page.locator('#changes tr.add').count()).toBe(17);
    expect(await tab.page.locator('#changes tr.del').count()).toBe(3);
    expect(await tab.page.locator('#changes tr.add .chg').first().textContent()).toBe(
      'safeNext(req.query.next) ?? ',
    );
    expect(await tab.page.locator('#checks .check.passed').count()).toBe(2);
    expect(await tab.page.locator('#stages .stage.done').count()).toBe(5);
    await saveScreenshot(tab.page, 'task-finished', { fullPage: true });
    await tab.page.setViewportSize({ width: 390, height: 844 });
    await saveScreenshot(tab.page, 'task-narrow');
    expect(tab.problems).toEqual([]);
  });
});

/** Each timeline entry reduced to what a reader sees: tags, attributes and text, not its id. */
function canonicalTimeline(): Promise<string[]> {
  return tab.page.$$eval('#timeline > li', (items) => {
    interface Shown {
      nodeType: number;
      textContent: string | null;
      tagName?: string;
      attributes?: ArrayLike<{ name: string; value: string }>;
      childNodes: ArrayLike<Shown>;
    }
    const walk = (node: Shown): string => {
      if (node.nodeType === 3) return (node.textContent ?? '').replace(/\s+/g, ' ');
      if (node.nodeType !== 1 || !node.tagName || !node.attributes) return '';
      const attrs = Array.from(node.attributes)
        .filter((a) => a.name !== 'data-entry-id')
        .map((a) => `${a.name}=${a.value}`)
        .sort()
        .join(' ');
      return `<${node.tagName.toLowerCase()} ${attrs}>${Array.from(node.childNodes).map(walk).join('')}</>`;
    };
    return items.map((li) =>
      walk(li as unknown as Shown)
        .replace(/> </g, '><')
        .replace(/\s+/g, ' ')
        .trim(),
    );
  });
}

function fiveHundredSteps(): TimelineEntry[] {
  const start = Date.now() - 3_600_000;
  const at = (i: number) => new Date(start + i * 5_000).toISOString();
  const entries: TimelineEntry[] = [
    {
      type: 'note',
      at: at(0),
      text: 'To keep this log under 2 MiB, older tool outputs were shortened (100 of them).',
    },
  ];
  for (let step = 1; step <= 500; step++) {
    entries.push({
      type: 'model_turn',
      at: at(step),
      run: 1,
      attempt: 1,
      turn: step,
      model: 'gpt-5-codex',
      ...(step % 10 === 0
        ? { text: `Step ${step}: the tests still fail in the parser; trying the next case.` }
        : {}),
      toolCalls: 1,
      promptTokens: 20_000,
      cachedTokens: 18_000,
      completionTokens: 150,
      usd: 0.01,
      durationMs: 1_500,
    });
    const output = `exit code: ${step % 7 === 0 ? 1 : 0}\n${'line of build output\n'.repeat(step <= 100 ? 2 : 50)}`;
    entries.push({
      type: 'tool_call',
      at: at(step),
      run: 1,
      attempt: 1,
      step,
      tool: 'bash',
      args: JSON.stringify({ command: `npm test -- --grep case-${step}` }),
      detail: `bash: npm test -- --grep case-${step}`,
      output,
      outputBytes: step <= 100 ? 40_000 : output.length,
      ...(step <= 100 ? { shortened: true } : {}),
      failed: false,
      durationMs: 2_000,
    });
  }
  return entries;
}
