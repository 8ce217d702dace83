import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerLinearOAuthRoutes } from '../../src/integrations/linear/linear-oauth-routes.js';
import { createLinearTokens } from '../../src/integrations/linear/linear-token-store.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createRedisKeyValue } from '../../src/queue/redis-key-value.js';
import { createHttpServer, type HttpServer } from '../../src/server/http-server.js';
import { type LinearStandIn, startLinearStandIn } from '../fakes/linear-stand-in.js';
import { REDIS_URL } from '../fakes/redis.js';

const log = createSilentLogger();
const CLIENT = { id: 'lin_client_1', secret: 'lin_client_secret_0123456789' };

let redis: Redis;
let prefix: string;
let linear: LinearStandIn;
let http: HttpServer;
let base: string;
let clock: number;

function tokensAt(at: () => number) {
  return createLinearTokens({
    kv: createRedisKeyValue({ redis, prefix, namespace: 'linear' }),
    clientId: CLIENT.id,
    clientSecret: CLIENT.secret,
    tokenUrl: linear.tokenUrl,
    log,
    now: at,
  });
}

beforeEach(async () => {
  redis = new Redis(REDIS_URL);
  prefix = `pbtest:${randomUUID()}:`;
  linear = await startLinearStandIn({ client: CLIENT });
  linear.pin('Organization', 'org-acme', { name: 'Acme & Co' });
  clock = Date.now();
  http = createHttpServer({ log });
  registerLinearOAuthRoutes(http, {
    clientId: CLIENT.id,
    tokens: tokensAt(() => clock),
    kv: createRedisKeyValue({ redis, prefix, namespace: 'linear' }),
    apiUrl: linear.url,
    publicUrl: 'https://patchbay.example.com',
    log,
  });
  base = `http://127.0.0.1:${await http.listen(0, '127.0.0.1')}`;
});

afterEach(async () => {
  const unmatched = linear.unmatched.map((c) => `${c.method} ${c.path}`);
  await http.close();
  await linear.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  expect(unmatched).toEqual([]);
});

async function startInstall(): Promise<URL> {
  const res = await fetch(`${base}/linear/oauth/install`, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('location') ?? '');
}

async function callback(query: Record<string, string>) {
  const res = await fetch(`${base}/linear/oauth/callback?${new URLSearchParams(query)}`, {
    redirect: 'manual',
  });
  return { status: res.status, text: await res.text() };
}

async function install(): Promise<void> {
  const consent = await startInstall();
  const done = await callback({ code: 'code-1', state: consent.searchParams.get('state') ?? '' });
  expect(done.status).toBe(200);
}

describe('Linear agent install (OAuth, actor=app)', () => {
  it('sends the browser to Linear as an app with the agent scopes and a fresh state', async () => {
    const first = await startInstall();
    const second = await startInstall();

    expect(`${first.origin}${first.pathname}`).toBe('https://linear.app/oauth/authorize');
    expect(Object.fromEntries(first.searchParams)).toMatchObject({
      client_id: CLIENT.id,
      redirect_uri: 'https://patchbay.example.com/linear/oauth/callback',
      response_type: 'code',
      actor: 'app',
      scope: 'read,write,app:assignable,app:mentionable',
    });
    expect(first.searchParams.get('state')?.length).toBeGreaterThanOrEqual(32);
    expect(second.searchParams.get('state')).not.toBe(first.searchParams.get('state'));
  });

  it('swaps the code for tokens, keeps them sealed in Redis, and says which workspace', async () => {
    const consent = await startInstall();

    const done = await callback({ code: 'code-1', state: consent.searchParams.get('state') ?? '' });

    expect(done.status).toBe(200);
    expect(done.text).toContain('installed in Acme &#38; Co');
    const form = Object.fromEntries(new URLSearchParams(linear.tokenRequests[0]?.raw ?? ''));
    expect(form).toMatchObject({
      grant_type: 'authorization_code',
      code: 'code-1',
      redirect_uri: 'https://patchbay.example.com/linear/oauth/callback',
      client_id: CLIENT.id,
    });
    const token = await tokensAt(() => clock).accessTokenFor('org-acme');
    expect(token).toBe('lin_oauth_standin_1');
    const stored = await Promise.all((await redis.keys(`${prefix}*`)).map((k) => redis.get(k)));
    expect(stored.join('\n')).not.toContain('lin_oauth_standin_1');
    expect(stored.join('\n')).not.toContain('lin_refresh_standin_1');
  });

  it('uses the newest installation for an event that names no workspace', async () => {
    await install();

    expect(await tokensAt(() => clock).accessTokenFor(undefined)).toBe('lin_oauth_standin_1');
  });

  it('refuses a callback whose state it did not issue, or one used before', async () => {
    const forged = await callback({ code: 'code-1', state: 'made-up-state' });
    const consent = await startInstall();
    const state = consent.searchParams.get('state') ?? '';
    await callback({ code: 'code-1', state });
    const replayed = await callback({ code: 'code-2', state });

    expect(forged.status).toBe(400);
    expect(replayed.status).toBe(400);
    expect(linear.tokenRequests).toHaveLength(1);
  });

  it('stores nothing when the person declines or Linear refuses the code', async () => {
    const declined = await startInstall();
    linear.onToken(() => ({ status: 400, json: { error: 'invalid_grant' } }));
    const refused = await startInstall();

    const a = await callback({ error: 'access_denied', state: declined.searchParams.get('state') ?? '' });
    const b = await callback({ code: 'bad', state: refused.searchParams.get('state') ?? '' });

    expect(a.status).toBe(400);
    expect(b.status).toBe(502);
    expect(b.text).toContain('invalid_grant');
    await expect(tokensAt(() => clock).accessTokenFor('org-acme')).rejects.toThrow(/not installed/);
  });
});

describe('Linear agent tokens', () => {
  it('keeps a token until shortly before it expires, then refreshes it with the rotated refresh token', async () => {
    await install();
    const tokens = tokensAt(() => clock);

    const early = await tokens.accessTokenFor('org-acme');
    clock += 23 * 3600_000 + 55 * 60_000;
    const refreshed = await tokens.accessTokenFor('org-acme');
    clock += 24 * 3600_000;
    const again = await tokens.accessTokenFor('org-acme');

    expect(early).toBe('lin_oauth_standin_1');
    expect(refreshed).toBe('lin_oauth_standin_2');
    expect(again).toBe('lin_oauth_standin_3');
    const grants = linear.tokenRequests.map((r) => Object.fromEntries(new URLSearchParams(r.raw)));
    expect(grants.map((g) => [g.grant_type, g.refresh_token])).toEqual([
      ['authorization_code', undefined],
      ['refresh_token', 'lin_refresh_standin_1'],
      ['refresh_token', 'lin_refresh_standin_2'],
    ]);
  });

  it('refreshes once when many processes need a new token at the same moment', async () => {
    await install();
    clock += 24 * 3600_000;
    const processes = Array.from({ length: 6 }, () => tokensAt(() => clock));

    const got = await Promise.all(processes.map((p) => p.accessTokenFor('org-acme')));

    expect(new Set(got)).toEqual(new Set(['lin_oauth_standin_2']));
    expect(linear.tokenRequests.filter((r) => r.raw.includes('refresh_token'))).toHaveLength(1);
  });

  it('says to install again when Linear refuses the refresh token', async () => {
    await install();
    linear.onToken(() => ({ status: 400, json: { error: 'invalid_grant' } }));
    clock += 24 * 3600_000;

    const failure = tokensAt(() => clock).accessTokenFor('org-acme');

    await expect(failure).rejects.toMatchObject({
      permanent: true,
      hint: expect.stringContaining('/linear/oauth/install'),
    });
  });

  it('cannot read tokens sealed under another client secret', async () => {
    await install();
    const other = createLinearTokens({
      kv: createRedisKeyValue({ redis, prefix, namespace: 'linear' }),
      clientId: CLIENT.id,
      clientSecret: 'a-different-client-secret',
      tokenUrl: linear.tokenUrl,
      log,
    });

    await expect(other.accessTokenFor('org-acme')).rejects.toThrow(/not installed/);
  });
});
