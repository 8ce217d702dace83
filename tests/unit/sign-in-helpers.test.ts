import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { readCookie } from '../../src/server/cookies.js';
import { checkCrossSite, ownOrigin } from '../../src/server/cross-site.js';
import { deriveSessionKey } from '../../src/server/sessions.js';
import { safeNext } from '../../src/server/signed-out.js';

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('safeNext', () => {
  it('keeps paths of Patchbay’s own and sends everything else to /tasks', () => {
    const kept = ['/tasks/t123', '/tasks?status=failed&repo=acme%2Fweb', '/tasks/t1#diff', '/'];
    const refused = [
      undefined,
      '',
      'tasks',
      'https://evil.example',
      '//evil.example',
      '///evil.example',
      '/\\evil.example',
      '/\t/evil.example',
      'javascript:alert(1)',
      '/login',
      '/login/github/callback?code=x',
      '/logout',
      '/tâches',
    ];

    expect(kept.map(safeNext)).toEqual(kept);
    expect(refused.map(safeNext)).toEqual(refused.map(() => '/tasks'));
  });
});

describe('readCookie', () => {
  it('reads one value, and refuses a name given two different values', () => {
    expect(readCookie(request({ cookie: 'a=1; patchbay_session=abc.def; b=2' }), 'patchbay_session')).toBe(
      'abc.def',
    );
    expect(
      readCookie(request({ cookie: 'patchbay_session=abc; patchbay_session=xyz' }), 'patchbay_session'),
    ).toBe(undefined);
    expect(readCookie(request({ cookie: 'patchbay_session=<script>' }), 'patchbay_session')).toBe(undefined);
    expect(readCookie(request({}), 'patchbay_session')).toBe(undefined);
  });
});

describe('ownOrigin and checkCrossSite', () => {
  it('takes PATCHBAY_PUBLIC_URL’s origin, else the proxy’s or the request’s host', () => {
    expect(ownOrigin(request({ host: 'x:3000' }), 'https://patchbay.example.com/base/')).toBe(
      'https://patchbay.example.com',
    );
    expect(ownOrigin(request({ host: '10.0.0.1:3000' }), undefined)).toBe('http://10.0.0.1:3000');
    expect(
      ownOrigin(
        request({ host: '10.0.0.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'pb.acme.dev' }),
        undefined,
      ),
    ).toBe('https://pb.acme.dev');
  });

  it('lets a bearer through, and wants a cookie’s request from the own origin with JSON or the token', () => {
    const session = { via: 'session' as const, csrfToken: 'tok' };
    const own = { host: 'pb:3000', origin: 'http://pb:3000' };

    const verdicts = [
      checkCrossSite(request({}), { viewer: { via: 'bearer' }, publicUrl: undefined }),
      checkCrossSite(request({ ...own, 'content-type': 'application/json; charset=utf-8' }), {
        viewer: session,
        publicUrl: undefined,
      }),
      checkCrossSite(request(own), {
        viewer: session,
        publicUrl: undefined,
        form: new URLSearchParams('csrf=tok'),
      }),
      checkCrossSite(request({ host: 'pb:3000', 'content-type': 'application/json' }), {
        viewer: session,
        publicUrl: undefined,
      }),
      checkCrossSite(request({ ...own, origin: 'null' }), { viewer: session, publicUrl: undefined }),
      checkCrossSite(request(own), {
        viewer: session,
        publicUrl: undefined,
        form: new URLSearchParams('csrf=no'),
      }),
    ];

    expect(verdicts).toEqual([
      { ok: true },
      { ok: true },
      { ok: true },
      { ok: false, reason: 'origin' },
      { ok: false, reason: 'origin' },
      { ok: false, reason: 'csrf' },
    ]);
  });
});

describe('deriveSessionKey', () => {
  it('changes when either secret changes, and is absent without both', () => {
    const a = deriveSessionKey({ apiToken: 'operator-token-0001', clientSecret: 'client-secret-0001' });

    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(
      deriveSessionKey({ apiToken: 'operator-token-0002', clientSecret: 'client-secret-0001' }),
    ).not.toBe(a);
    expect(
      deriveSessionKey({ apiToken: 'operator-token-0001', clientSecret: 'client-secret-0002' }),
    ).not.toBe(a);
    expect(deriveSessionKey({ apiToken: 'operator-token-0001' })).not.toBe(a);
    expect(deriveSessionKey({})).toBeUndefined();
  });
});
