import { describe, expect, it } from 'vitest';
import { SESSION_TTL_MS } from '../../src/server/sessions.js';
import { createManualClock } from '../fakes/manual-clock.js';
import { cookieSet, signInServerPerTest, signInWithGitHub } from '../fakes/sign-in-server.js';

const start = signInServerPerTest();

/** The sign-in page's hidden `csrf` field and its browser cookie, as a browser gets them. */
async function openLoginPage(base: string) {
  const page = await fetch(`${base}/login?next=%2Ftasks%2Ft9`);
  const html = await page.text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
  return { page, html, csrf, browser: cookieSet(page, 'patchbay_login') ?? '' };
}

function postForm(url: string, fields: Record<string, string>, headers: Record<string, string>) {
  return fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

describe('sign-in with GitHub', () => {
  it('goes to GitHub with the client id, a state and the callback, and comes back signed in', async () => {
    const server = await start();

    const flow = await signInWithGitHub(server, 'alice', '/tasks/t123');
    const viewer = await fetch(`${server.base}/api/probe/viewer`, {
      headers: { cookie: flow.session ?? '' },
    });

    expect(flow.start.status).toBe(303);
    expect(flow.authorize.origin + flow.authorize.pathname).toBe(
      `${server.github.serverUrl}/login/oauth/authorize`,
    );
    expect(flow.authorize.searchParams.get('client_id')).toBe(server.secrets.clientId);
    expect(flow.authorize.searchParams.get('redirect_uri')).toBe(`${server.base}/login/github/callback`);
    expect(flow.authorize.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(flow.done.status).toBe(303);
    expect(flow.done.headers.get('location')).toBe('/tasks/t123');
    expect(flow.session).toMatch(/^patchbay_session=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const setCookie = flow.done.headers.getSetCookie().find((c) => c.startsWith('patchbay_session='));
    expect(setCookie).toBe(`${flow.session}; Max-Age=43200; Path=/; HttpOnly; SameSite=Lax`);
    expect(await viewer.json()).toEqual({ name: 'alice', operator: false, via: 'session', access: {} });
    const exchange = server.github.calls.find((c) => c.path === '/login/oauth/access_token');
    expect(exchange?.body).toMatchObject({
      client_id: server.secrets.clientId,
      redirect_uri: `${server.base}/login/github/callback`,
    });
    expect(server.github.unmatched).toEqual([]);
  });

  it('refuses a state that was used already, one it never gave, and one from another browser', async () => {
    const server = await start();
    const first = await signInWithGitHub(server, 'alice');

    const replayed = await fetch(first.callback, { redirect: 'manual', headers: { cookie: first.browser } });
    const forged = new URL(first.callback);
    forged.searchParams.set('state', 'x'.repeat(32));
    const unknown = await fetch(forged, { redirect: 'manual', headers: { cookie: first.browser } });
    server.github.signInAs('mallory');
    const attacker = await fetch(`${server.base}/login/github`, { redirect: 'manual' });
    const consent = await fetch(attacker.headers.get('location') ?? '', { redirect: 'manual' });
    const elsewhere = await fetch(consent.headers.get('location') ?? '', {
      redirect: 'manual',
      headers: { cookie: first.browser },
    });
    const noCookie = await fetch(consent.headers.get('location') ?? '', { redirect: 'manual' });

    expect(first.session).toBeDefined();
    for (const res of [replayed, unknown, elsewhere, noCookie]) {
      expect(res.status).toBe(400);
      expect(cookieSet(res, 'patchbay_session')).toBeUndefined();
    }
    expect(await replayed.text()).toContain('expired or was already used');
    expect(await elsewhere.text()).toContain('started in another browser');
    expect(server.github.calls.filter((c) => c.path === '/login/oauth/access_token')).toHaveLength(1);
  });

  it('sends a next that is not a path of its own to /tasks', async () => {
    const server = await start();
    const outside = [
      'https://evil.example',
      '//evil.example',
      '/\\evil.example',
      'javascript:alert(1)',
      '/login/github',
    ];

    const locations = [];
    for (const next of outside)
      locations.push((await signInWithGitHub(server, 'alice', next)).done.headers.get('location'));
    const inside = await signInWithGitHub(server, 'alice', '/tasks/t9?tab=diff');

    expect(locations).toEqual(outside.map(() => '/tasks'));
    expect(inside.done.headers.get('location')).toBe('/tasks/t9?tab=diff');
  });

  it('shows the sign-in page again when GitHub was declined', async () => {
    const server = await start();

    const flow = await signInWithGitHub(server, null);

    expect(flow.done.status).toBe(403);
    expect(await flow.done.text()).toContain('GitHub did not sign you in.');
    expect(flow.session).toBeUndefined();
  });
});

describe('sessions', () => {
  it('refuses a cookie that was altered or made up', async () => {
    const server = await start();
    const { session = '' } = await signInWithGitHub(server, 'alice');
    const [name, value = ''] = session.split('=');
    const [id = '', signature = ''] = value.split('.');
    const flipped = `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`;

    const tries = [`${id}.${flipped}`, `${id}x.${signature}`, id, `${'A'.repeat(32)}.${signature}`];
    const statuses = [];
    for (const tampered of tries) {
      statuses.push(
        (await fetch(`${server.base}/api/probe/viewer`, { headers: { cookie: `${name}=${tampered}` } }))
          .status,
      );
    }
    const genuine = await fetch(`${server.base}/api/probe/viewer`, { headers: { cookie: session } });

    expect(statuses).toEqual([401, 401, 401, 401]);
    expect(genuine.status).toBe(200);
  });

  it('expires twelve hours after sign-in, by the clock', async () => {
    const clock = createManualClock();
    const server = await start({ clock });
    const { session = '' } = await signInWithGitHub(server, 'alice');
    const look = () => fetch(`${server.base}/api/probe/viewer`, { headers: { cookie: session } });

    clock.advance(SESSION_TTL_MS - 1);
    const before = await look();
    clock.advance(1);
    const after = await look();

    expect(before.status).toBe(200);
    expect(after.status).toBe(401);
    expect(await after.json()).toEqual({
      error: { code: 'unauthorized', message: 'sign in at /login, or send the bearer token' },
    });
  });

  it('ends at logout: the old cookie no longer works', async () => {
    const server = await start();
    const { session = '' } = await signInWithGitHub(server, 'alice');
    const page = await fetch(`${server.base}/tasks/probe`, { headers: { cookie: session } });
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';

    const logout = await postForm(
      `${server.base}/logout`,
      { csrf },
      { cookie: session, origin: server.base },
    );
    const after = await fetch(`${server.base}/tasks/probe`, {
      redirect: 'manual',
      headers: { cookie: session },
    });

    expect(logout.status).toBe(303);
    expect(logout.headers.get('location')).toBe('/login');
    expect(logout.headers.getSetCookie()).toContain(
      'patchbay_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax',
    );
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toBe('/login?next=%2Ftasks%2Fprobe');
  });

  it('marks cookies Secure, and takes the callback and the origin from PATCHBAY_PUBLIC_URL when it is https', async () => {
    const server = await start({ env: { PATCHBAY_PUBLIC_URL: 'https://patchbay.example.com' } });

    const flow = await signInWithGitHub(server, 'alice');
    const stop = (origin: string) =>
      fetch(`${server.base}/api/probe/stop`, {
        method: 'POST',
        headers: { cookie: flow.session ?? '', origin, 'content-type': 'application/json' },
        body: '{}',
      });
    const fromLoopback = await stop(server.base);
    const fromPublic = await stop('https://patchbay.example.com');

    expect(flow.authorize.searchParams.get('redirect_uri')).toBe(
      'https://patchbay.example.com/login/github/callback',
    );
    expect([fromLoopback.status, fromPublic.status]).toEqual([403, 202]);
    expect(flow.start.headers.getSetCookie()[0]).toMatch(/; Path=\/login; HttpOnly; SameSite=Lax; Secure$/);
    expect(flow.done.headers.getSetCookie().find((c) => c.startsWith('patchbay_session='))).toMatch(
      /; Secure$/,
    );
  });
});

describe('the operator', () => {
  it('signs in with PATCHBAY_API_TOKEN on the sign-in form and sees every allowlisted repository', async () => {
    const server = await start();
    const { html, csrf, browser } = await openLoginPage(server.base);

    const res = await postForm(
      `${server.base}/login`,
      { token: server.secrets.apiToken, csrf, next: '/tasks/t9' },
      { cookie: browser, origin: server.base },
    );
    const session = cookieSet(res, 'patchbay_session') ?? '';
    const viewer = await fetch(`${server.base}/api/probe/viewer?repo=acme/web&repo=other/repo`, {
      headers: { cookie: session },
    });

    expect(html).toContain('Sign in with GitHub');
    expect(html).toContain('href="/login/github?next=%2Ftasks%2Ft9"');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/tasks/t9');
    expect(await viewer.json()).toEqual({
      name: 'operator',
      operator: true,
      via: 'session',
      access: { 'acme/web': true, 'other/repo': true },
    });
  });

  it('is refused with a wrong token, and without the form token or from another origin', async () => {
    const server = await start();
    const { csrf, browser } = await openLoginPage(server.base);
    const post = (fields: Record<string, string>, headers: Record<string, string>) =>
      postForm(`${server.base}/login`, { next: '/tasks', ...fields }, headers);
    const token = server.secrets.apiToken;

    const wrong = await post({ token: `${token}x`, csrf }, { cookie: browser, origin: server.base });
    const noCsrf = await post({ token }, { cookie: browser, origin: server.base });
    const otherBrowser = await post({ token, csrf }, { origin: server.base });
    const crossSite = await post({ token, csrf }, { cookie: browser, origin: 'https://evil.example' });
    const noOrigin = await post({ token, csrf }, { cookie: browser });

    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That is not the operator token.');
    expect([noCsrf, otherBrowser, crossSite, noOrigin].map((r) => r.status)).toEqual([403, 403, 403, 403]);
    for (const res of [wrong, noCsrf, otherBrowser, crossSite, noOrigin]) {
      expect(cookieSet(res, 'patchbay_session')).toBeUndefined();
    }
  });
});

describe('state changes that accept the cookie', () => {
  it('need Patchbay’s own Origin and a JSON body or the session’s CSRF token; a bearer needs neither', async () => {
    const server = await start();
    const { session = '' } = await signInWithGitHub(server, 'alice');
    const page = await fetch(`${server.base}/tasks/probe`, { headers: { cookie: session } });
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const stop = (headers: Record<string, string>, body: string) =>
      fetch(`${server.base}/api/probe/stop`, {
        method: 'POST',
        headers: { cookie: session, ...headers },
        body,
      });
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const json = { 'content-type': 'application/json' };

    const refused = [
      await stop({ ...json, origin: 'https://evil.example' }, '{}'),
      await stop({ ...json }, '{}'),
      await stop({ ...form, origin: server.base }, ''),
      await stop({ ...form, origin: server.base }, `csrf=${csrf}x`),
      await stop({ ...form, origin: 'https://evil.example' }, `csrf=${csrf}`),
      await stop({ 'content-type': 'text/plain', origin: server.base }, '{}'),
    ];
    const logoutCrossSite = await postForm(
      `${server.base}/logout`,
      { csrf },
      { cookie: session, origin: 'https://evil.example' },
    );
    const accepted = [
      await stop({ ...json, origin: server.base }, '{}'),
      await stop({ ...form, origin: server.base }, `csrf=${csrf}`),
      await fetch(`${server.base}/api/probe/stop`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.secrets.apiToken}` },
      }),
    ];

    expect(refused.map((r) => r.status)).toEqual([403, 403, 403, 403, 403, 403]);
    expect(await refused[0]?.json()).toMatchObject({ error: { code: 'cross_site' } });
    expect(logoutCrossSite.status).toBe(403);
    expect(accepted.map((r) => r.status)).toEqual([202, 202, 202]);
    expect(server.stops).toEqual(['alice', 'alice', 'operator']);
  });

  it('signed out: a page redirects to sign-in, the API answers 401, the page headers are strict', async () => {
    const server = await start();

    const page = await fetch(`${server.base}/tasks/probe?x=1`, { redirect: 'manual' });
    const api = await fetch(`${server.base}/api/probe/viewer`);
    const stop = await fetch(`${server.base}/api/probe/stop`, {
      method: 'POST',
      headers: { origin: server.base },
    });
    const login = await fetch(`${server.base}/login`);

    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login?next=%2Ftasks%2Fprobe%3Fx%3D1');
    expect(api.status).toBe(401);
    expect(stop.status).toBe(401);
    expect(login.headers.get('content-security-policy')).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    expect(login.headers.get('x-content-type-options')).toBe('nosniff');
    expect(login.headers.get('referrer-policy')).toBe('same-origin');
    expect(await login.text()).not.toMatch(/<script|<style|style=/);
  });
});
