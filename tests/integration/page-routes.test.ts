import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PAGE_CSP } from '../../src/server/pages/register-page-routes.js';
import { aTask, aViewer, cookieViewer, createPageData, type PageData } from '../fakes/page-data.js';
import { type PageServer, startPageServer } from '../fakes/page-server.js';

let data: PageData;
let server: PageServer;

beforeEach(async () => {
  data = createPageData();
  data.add(aTask('t1', { request: { repo: 'acme/web' } }), aTask('t2', { request: { repo: 'acme/secret' } }));
  server = await startPageServer(data, {
    viewerOf: cookieViewer({ ann: aViewer('ann', ['acme/web']), op: aViewer('operator') }),
  });
});

afterEach(async () => {
  await server.close();
});

function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, { headers, redirect: 'manual' });
}

const asAnn = { cookie: 'viewer=ann' };

describe('page routes', () => {
  it('sends / to the dashboard', async () => {
    const res = await get('/');

    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/tasks');
  });

  it('sends a signed-out reader to sign in, and back to the page afterwards', async () => {
    const task = await get('/tasks/t1');
    const list = await get('/tasks?status=failed');

    expect(task.status).toBe(303);
    expect(task.headers.get('location')).toBe('/login?next=%2Ftasks%2Ft1');
    expect(list.headers.get('location')).toBe('/login?next=%2Ftasks%3Fstatus%3Dfailed');
    expect(await task.text()).toBe('');
  });

  it('answers a task of a repository the reader may not see as it answers one that does not exist', async () => {
    const hidden = await get('/tasks/t2', asAnn);
    const missing = await get('/tasks/nope', asAnn);
    const theirs = await get('/tasks/t1', asAnn);
    const operator = await get('/tasks/t2', { cookie: 'viewer=op' });

    expect([hidden.status, missing.status, theirs.status, operator.status]).toEqual([404, 404, 200, 200]);
    expect(await hidden.text()).toBe(await missing.text());
  });

  it('lists only the tasks of repositories the reader may see', async () => {
    const res = await get('/tasks', asAnn);
    const page = await res.text();

    expect(page).toContain('data-task-id="t1"');
    expect(page).not.toContain('data-task-id="t2"');
  });

  it('sends pages under a strict Content-Security-Policy, uncached and unframed', async () => {
    const res = await get('/tasks/t1', asAnn);

    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(PAGE_CSP);
    expect(PAGE_CSP).toContain("script-src 'self'; style-src 'self'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const page = await res.text();
    expect(page).not.toMatch(/<script(?![^>]*\ssrc=)/);
    expect(page).not.toMatch(/\sstyle=|<style/);
  });
});

describe('assets', () => {
  async function assetUrls(): Promise<string[]> {
    const page = await (await get('/tasks/t1', asAnn)).text();
    return [...page.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
  }

  it('serves each asset under its content hash, cached for good, with its type', async () => {
    const urls = [...new Set(await assetUrls())].sort();

    const answers = await Promise.all(urls.map((u) => get(u)));

    expect(urls.map((u) => u.replace(/\.[0-9a-f]{10}\./, '.HASH.'))).toEqual([
      '/assets/base.HASH.css',
      '/assets/diff.HASH.css',
      '/assets/icon.HASH.svg',
      '/assets/side.HASH.css',
      '/assets/task-page.HASH.css',
      '/assets/task-page.HASH.js',
      '/assets/timeline.HASH.css',
    ]);
    expect(answers.map((r) => r.headers.get('content-type'))).toEqual([
      ...Array(2).fill('text/css; charset=utf-8'),
      'image/svg+xml',
      ...Array(2).fill('text/css; charset=utf-8'),
      'text/javascript; charset=utf-8',
      'text/css; charset=utf-8',
    ]);
    expect(
      answers.every((r) => r.headers.get('cache-control') === 'public, max-age=31536000, immutable'),
    ).toBe(true);
  });

  it('answers the plain name too, revalidated by ETag, and 404 for any other name', async () => {
    // What the page's module imports is asked for by its plain name.
    const first = await get('/assets/timeline-entry.js');
    const etag = first.headers.get('etag') ?? '';
    const again = await get('/assets/timeline-entry.js', { 'if-none-match': etag });
    const other = await get('/assets/../../package.json');
    const unknown = await get('/assets/nope.js');

    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-cache');
    expect(await first.text()).toContain('export function renderEntry(');
    expect(again.status).toBe(304);
    expect([other.status, unknown.status]).toEqual([404, 404]);
  });
});
