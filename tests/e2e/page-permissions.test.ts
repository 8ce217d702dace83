import { describe, expect, it } from 'vitest';
import type { ScriptedTurn } from '../../src/demo/scripted-model.js';
import { type Harness, isFinal } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';
import { processStarted } from '../fakes/host-processes.js';
import { FIX_GREETING } from '../fakes/scripts.js';
import { cookieSet, signInWithGitHub } from '../fakes/sign-in-server.js';

const start = harnessPerTest();

const LONG: ScriptedTurn[] = [{ tool: 'bash', args: { command: 'sleep 600.404', timeout_s: 900 } }];

type Who = 'signed out' | 'no access' | 'read-only' | 'writer' | 'operator';

/** The session cookie of each kind of reader (none when signed out). */
async function readers(h: Harness): Promise<Record<Who, string>> {
  h.github.setPermission('nora', 'none');
  h.github.setPermission('rita', 'read');
  h.github.setPermission('wanda', 'write');
  const session = async (login: string) => (await signInWithGitHub(h, login)).session ?? '';
  return {
    'signed out': '',
    'no access': await session('nora'),
    'read-only': await session('rita'),
    writer: await session('wanda'),
    operator: await operatorSession(h),
  };
}

/** Signs in with the operator's token through the sign-in form, as a browser does. */
async function operatorSession(h: Harness): Promise<string> {
  const page = await fetch(`${h.base}/login`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const browser = cookieSet(page, 'patchbay_login') ?? '';
  const res = await fetch(`${h.base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: h.base, cookie: browser },
    body: new URLSearchParams({ csrf, token: h.secrets.apiToken, next: '/tasks' }).toString(),
  });
  return cookieSet(res, 'patchbay_session') ?? '';
}

const as = (cookie: string, extra: Record<string, string> = {}) => ({
  redirect: 'manual' as const,
  headers: { ...(cookie ? { cookie } : {}), ...extra },
});

/** A state change as the task page makes it: its origin (none with null), a JSON body, the cookie. */
const post = (h: Harness, path: string, cookie: string, origin: string | null = h.base) =>
  fetch(`${h.base}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      ...(cookie ? { cookie } : {}),
      ...(origin ? { origin } : {}),
      'content-type': 'application/json',
    },
    body: '{}',
  });

/** What a reader gets of a task's page, the list, the stream and the diff: status codes and whether the task shows. */
async function reads(h: Harness, taskId: string, cookie: string) {
  const page = await fetch(`${h.base}/tasks/${taskId}`, as(cookie));
  const list = await fetch(`${h.base}/api/tasks`, as(cookie));
  const dashboard = await fetch(`${h.base}/tasks`, as(cookie));
  const streamAbort = new AbortController();
  const stream = await fetch(`${h.base}/api/tasks/${taskId}/events`, {
    ...as(cookie, { accept: 'text/event-stream' }),
    signal: streamAbort.signal,
  });
  const firstEvent = stream.ok ? await firstChunk(stream) : '';
  streamAbort.abort();
  const diff = await fetch(`${h.base}/api/tasks/${taskId}/diff`, as(cookie));
  const listed = list.ok
    ? ((await list.json()) as { tasks: Array<{ id: string }> }).tasks.map((t) => t.id)
    : [];
  const dashboardHtml = dashboard.ok ? await dashboard.text() : '';
  return {
    page: page.status,
    pageGoesTo: page.headers.get('location') ?? undefined,
    list: list.status,
    listed: listed.includes(taskId),
    dashboardShows: dashboardHtml.includes(taskId),
    stream: stream.status,
    streamed: firstEvent.includes('"type":"queued"'),
    diff: diff.status,
    diffShown: diff.ok && (await diff.text()).includes('src/greet.js'),
  };
}

async function firstChunk(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  let text = '';
  while (reader && !text.includes('data:')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString('utf8');
  }
  // The server sends what the task had first: read until its first entry is in.
  while (reader && !/data: .*\n\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString('utf8');
  }
  return text;
}

describe('who may see and act on a task', () => {
  it('shows a task’s page, list entry, stream and diff only to writers and the operator', async () => {
    const h = await start(FIX_GREETING, { signIn: true });
    const who = await readers(h);
    const created = await h.createTask({ instruction: 'fix the greeting' });
    await h.waitFor(created.body.id, isFinal);

    const seen = Object.fromEntries(
      await Promise.all(
        (Object.keys(who) as Who[]).map(async (w) => [w, await reads(h, created.body.id, who[w])]),
      ),
    ) as Record<Who, Awaited<ReturnType<typeof reads>>>;

    const nothing = { listed: false, dashboardShows: false, streamed: false, diffShown: false };
    expect(seen['signed out']).toMatchObject({
      page: 303,
      pageGoesTo: `/login?next=%2Ftasks%2F${created.body.id}`,
      list: 401,
      stream: 401,
      diff: 401,
      ...nothing,
    });
    for (const w of ['no access', 'read-only'] as const) {
      expect(seen[w]).toMatchObject({ page: 404, list: 200, stream: 404, diff: 404, ...nothing });
    }
    for (const w of ['writer', 'operator'] as const) {
      expect(seen[w]).toMatchObject({
        page: 200,
        list: 200,
        listed: true,
        dashboardShows: true,
        stream: 200,
        streamed: true,
        diff: 200,
        diffShown: true,
      });
    }
  });

  it('lets only writers and the operator stop and retry, and refuses every cross-site state change', async () => {
    const h = await start([...LONG, ...FIX_GREETING], { signIn: true });
    const who = await readers(h);
    const created = await h.createTask({ instruction: 'take your time', conversation: 'perm' });
    const id = created.body.id;
    await processStarted('600.404');

    const refusedStops = await Promise.all(
      (['signed out', 'no access', 'read-only'] as const).map(
        async (w) => (await post(h, `/api/tasks/${id}/cancel`, who[w])).status,
      ),
    );
    const crossSite = [
      await post(h, `/api/tasks/${id}/cancel`, who.writer, 'https://evil.example'),
      await post(h, `/api/tasks/${id}/cancel`, who.writer, null),
      await fetch(`${h.base}/api/tasks/${id}/cancel`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: who.writer, origin: h.base, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'x=1',
      }),
      await post(h, '/api/tasks', who.writer, 'https://evil.example'),
      await post(h, `/api/tasks/${id}/retry`, who.writer, 'https://evil.example'),
      await post(h, '/logout', who.writer, 'https://evil.example'),
    ].map((r) => r.status);
    const stillRunning = await h.getTask(id);
    const stop = await post(h, `/api/tasks/${id}/cancel`, who.writer);
    const stopped = await h.waitFor(id, isFinal);
    const refusedRetries = await Promise.all(
      (['signed out', 'no access', 'read-only'] as const).map(
        async (w) => (await post(h, `/api/tasks/${id}/retry`, who[w])).status,
      ),
    );
    const retry = await post(h, `/api/tasks/${id}/retry`, who.writer);
    const retried = (await retry.json()) as { id: string };
    const again = await post(h, `/api/tasks/${id}/retry`, who.operator);
    const done = await h.waitFor(retried.id, isFinal);

    expect(refusedStops).toEqual([401, 404, 404]);
    expect(crossSite).toEqual([403, 403, 403, 403, 403, 403]);
    expect(stillRunning.status).toBe('running');
    expect(stop.status).toBe(202);
    expect(stopped.status).toBe('cancelled');
    expect(refusedRetries).toEqual([401, 404, 404]);
    expect(retry.status).toBe(202);
    expect(again.status).toBe(202);
    expect(((await again.json()) as { id: string }).id).toBe(retried.id);
    expect(done.status).toBe('succeeded');
  });
});
