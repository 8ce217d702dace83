import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { FileConfig } from '../../src/config/file-schema.js';
import { buildConfig, parseEnv } from '../../src/config/load-config.js';
import { startGitHubStandIn } from '../../src/demo/github-stand-in.js';
import { createLogger } from '../../src/lib/logger.js';
import { type Running, startPatchbay } from '../../src/main.js';
import { deriveSessionKey } from '../../src/server/sessions.js';
import { REDIS_URL } from '../fakes/redis.js';
import { cookieSet, signInWithGitHub } from '../fakes/sign-in-server.js';

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

const secrets = {
  apiToken: randomBytes(16).toString('hex'),
  githubToken: `ghs_${randomBytes(12).toString('hex')}`,
  clientId: `Iv1.${randomBytes(8).toString('hex')}`,
  clientSecret: randomBytes(20).toString('hex'),
};

/** `patchbay server` as `npm start` runs it (no worker), logging everything at debug level. */
async function startServer(env: Record<string, string>) {
  const github = await startGitHubStandIn({
    repos: [{ name: 'acme/web' }],
    token: secrets.githubToken,
    oauth: { clientId: secrets.clientId, clientSecret: secrets.clientSecret },
  });
  opened.push(github);
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const config = buildConfig(
    parseEnv({
      REDIS_URL,
      PORT: '0',
      PATCHBAY_API_TOKEN: secrets.apiToken,
      GITHUB_TOKEN: secrets.githubToken,
      GITHUB_API_URL: github.url,
      GITHUB_SERVER_URL: github.serverUrl,
      ...env,
    }),
    FileConfig.parse({ repositories: [{ name: 'acme/web' }] }),
  );
  const id = randomBytes(4).toString('hex');
  const running: Running = await startPatchbay({
    config,
    log: createLogger({ level: 'debug', destination }),
    server: true,
    worker: false,
    prefix: `pbtest:${id}:`,
    queueName: `pbtest-${id}`,
  });
  opened.push({ close: () => running.stop() });
  return { base: `http://127.0.0.1:${running.port}`, github, lines };
}

const signInEnv = { GITHUB_CLIENT_ID: secrets.clientId, GITHUB_CLIENT_SECRET: secrets.clientSecret };

describe('sign-in in patchbay server', () => {
  it('signs people in, and no log line holds the client secret, the session key or a token', async () => {
    const { base, github, lines } = await startServer(signInEnv);
    const sessionKey =
      deriveSessionKey({ apiToken: secrets.apiToken, clientSecret: secrets.clientSecret }) ?? '';

    const page = await (await fetch(`${base}/login`)).text();
    const flow = await signInWithGitHub({ base, github }, 'alice');
    github.failNext('POST /login/oauth/access_token', 502);
    const failed = await signInWithGitHub({ base, github }, 'alice');
    const logout = await fetch(`${base}/logout`, {
      method: 'POST',
      headers: { cookie: flow.session ?? '', origin: base, 'content-type': 'application/json' },
      body: '{}',
    });
    const log = lines.join('');

    expect(page).toContain('Sign in with GitHub');
    expect(flow.done.status).toBe(303);
    expect(failed.done.status).toBe(502);
    expect(logout.status).toBe(204);
    expect(log).toContain('"msg":"GitHub sign-in on"');
    expect(log).toContain('"msg":"signed in"');
    expect(log).toContain('"msg":"github sign-in failed"');
    expect(log).toContain('"msg":"signed out"');
    const hidden = [
      secrets.clientSecret,
      sessionKey,
      secrets.apiToken,
      ...github.userTokens.map((t) => t.token),
      (flow.session ?? '').split('=')[1] ?? '',
      flow.callback.searchParams.get('code') ?? '',
      flow.callback.searchParams.get('state') ?? '',
    ];
    for (const secret of hidden) {
      expect(secret.length).toBeGreaterThan(8);
      expect(log).not.toContain(secret);
    }
  });

  it('without GITHUB_CLIENT_ID, says only the operator can sign in, and the page offers only the token', async () => {
    const { base, lines } = await startServer({});

    const res = await fetch(`${base}/login`);
    const html = await res.text();
    const github = await fetch(`${base}/login/github`, { redirect: 'manual' });

    expect(lines.filter((l) => l.includes('sign-in')).map((l) => JSON.parse(l).msg)).toEqual([
      'GitHub sign-in off: GITHUB_CLIENT_ID is not set, so only the operator can sign in',
    ]);
    expect(html).not.toContain('Sign in with GitHub');
    expect(html).toContain('name="token"');
    expect(cookieSet(res, 'patchbay_login')).toBeDefined();
    expect(github.status).toBe(404);
  });

  it('refuses to start with half of the GitHub client, naming the missing variable', async () => {
    const started = startServer({ GITHUB_CLIENT_ID: secrets.clientId });

    await expect(started).rejects.toThrow('sign-in with GitHub needs GITHUB_CLIENT_SECRET too');
  });
});
