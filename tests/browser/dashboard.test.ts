import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openBrowser, saveScreenshot, type TestBrowser, type WatchedPage } from '../fakes/chromium.js';
import { createPageData, type PageData } from '../fakes/page-data.js';
import { type PageServer, startPageServer } from '../fakes/page-server.js';
import { addSampleTasks, sampleStats } from '../fakes/sample-dashboard.js';

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
  data.setRepositories(['acme/api', 'acme/mobile', 'acme/web']);
  data.setStats(sampleStats());
  server = await startPageServer(data);
  tab = await browser.newPage();
});

afterEach(async () => {
  await tab.page.close();
  await server.close();
});

function rowStatuses(): Promise<string[]> {
  return tab.page.$$eval('#tasks tbody .status-pill', (pills) => pills.map((p) => p.textContent ?? ''));
}

describe('the dashboard', () => {
  it('is where / leads, with the counts, the spend chart and the failures that recur', async () => {
    addSampleTasks(data, 24);

    await tab.page.goto(`${server.url}/`);

    expect(tab.page.url()).toBe(`${server.url}/tasks`);
    expect(await tab.page.locator('#stat-running .stat-value').textContent()).toBe('2');
    expect(await tab.page.locator('#stat-queued .stat-value').textContent()).toBe('3');
    expect(await tab.page.locator('#stat-workers .stat-value').textContent()).toBe('2');
    expect(await tab.page.locator('#stat-wait .stat-value').textContent()).toBe('8.4 s');
    const points = sampleStats().spend.points;
    expect(await tab.page.locator('#spend-chart svg rect').count()).toBe(points.length);
    expect(await tab.page.locator('#spend-chart .legend li').allTextContents()).toEqual([
      expect.stringMatching(/^\$\d+\.\d\d in all$/),
      expect.stringContaining('acme/web'),
      expect.stringContaining('acme/api'),
      expect.stringContaining('acme/mobile'),
    ]);
    expect(await tab.page.locator('#spend-chart svg rect title').first().textContent()).toMatch(
      /^\d{4}-\d\d-\d\d · acme\/\w+: \$\d+\.\d\d$/,
    );
    const key = await tab.page.locator('#spend-chart .legend .key').first().boundingBox();
    expect(key?.width).toBeGreaterThan(0);
    expect(await tab.page.locator('#failures tbody tr').count()).toBe(3);
    expect(await tab.page.locator('#failures tbody tr').first().textContent()).toContain('checks_failed');
    expect(await tab.page.locator('#tasks tbody tr').count()).toBe(24);
    expect(await tab.page.locator('#tasks tbody tr').first().getAttribute('data-task-id')).toBe('d01');
    await saveScreenshot(tab.page, 'dashboard');
    await tab.page.setViewportSize({ width: 390, height: 844 });
    await saveScreenshot(tab.page, 'dashboard-narrow');
    expect(tab.problems).toEqual([]);
  });

  it('filters by status as soon as one is chosen, and by requester through the form', async () => {
    addSampleTasks(data, 24);
    await tab.page.goto(`${server.url}/tasks`);

    await tab.page.locator('select[name="status"]').selectOption('failed');
    await tab.page.waitForURL(/status=failed/);

    const failed = [...data.tasks.values()].filter((t) => t.status === 'failed');
    expect(failed.length).toBeGreaterThan(1);
    expect(await rowStatuses()).toEqual(failed.map(() => 'Failed'));
    expect(await tab.page.locator('select[name="status"]').inputValue()).toBe('failed');

    const requester = failed[0]?.request.origin.requester ?? '';
    await tab.page.locator('input[name="requester"]').fill(requester);
    await tab.page.locator('#filters button[type="submit"]').click();
    await tab.page.waitForURL(/requester=/);

    const url = new URL(tab.page.url());
    expect(Object.fromEntries(url.searchParams)).toEqual({
      status: 'failed',
      repo: '',
      source: '',
      requester,
    });
    const theirs = failed.filter((t) => t.request.origin.requester === requester);
    expect(theirs.length).toBeLessThan(failed.length);
    expect(
      await tab.page.$$eval('#tasks tbody tr', (rows) => rows.map((r) => r.getAttribute('data-task-id'))),
    ).toEqual(theirs.map((t) => t.id));
  });

  it('shows the newest 50 and pages on to older tasks by cursor', async () => {
    addSampleTasks(data, 55);
    await tab.page.goto(`${server.url}/tasks`);
    expect(await tab.page.locator('#tasks tbody tr').count()).toBe(50);

    await tab.page.locator('#older').click();
    await tab.page.waitForURL(/cursor=d50/);

    expect(await tab.page.locator('#tasks tbody tr').count()).toBe(5);
    expect(await tab.page.locator('#tasks tbody tr').first().getAttribute('data-task-id')).toBe('d51');
    expect(await tab.page.locator('#older').count()).toBe(0);
    expect(await tab.page.locator('.pager a', { hasText: 'Newest' }).getAttribute('href')).toBe('/tasks');
  });
});
