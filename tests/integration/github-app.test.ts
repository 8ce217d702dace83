import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildWorkerDeps } from '../../src/build-worker-deps.js';
import { FileConfig } from '../../src/config/file-schema.js';
import { buildConfig, parseEnv } from '../../src/config/load-config.js';
import { type GitHubStandIn, type StandInApp, startGitHubStandIn } from '../../src/demo/github-stand-in.js';
import { PatchbayError } from '../../src/domain/errors.js';
import { createGitHubAppAuth } from '../../src/integrations/github/create-github-app-auth.js';
import { createPullRequests } from '../../src/integrations/github/pull-requests.js';
import { createLogger } from '../../src/lib/logger.js';
import { createManualClock } from '../fakes/manual-clock.js';
import { standInPerTest } from '../fakes/stand-in-per-test.js';

const APP_ID = '4242';
/** A throwaway App key, PKCS#1 like the .pem files GitHub hands out. */
const KEYS = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
});

let github: GitHubStandIn | undefined;
const track = standInPerTest<GitHubStandIn>();

async function setUp(
  opts: { app?: Partial<StandInApp>; privateKey?: string; refreshMarginMs?: number; now?: () => number } = {},
) {
  github = track(
    await startGitHubStandIn({
      repos: [{ name: 'acme/web' }, { name: 'acme/api' }, { name: 'other/tool' }, { name: 'acme/secret' }],
      app: {
        id: APP_ID,
        publicKey: KEYS.publicKey,
        installations: [
          { id: 11, repos: ['acme/web', 'acme/api'] },
          { id: 22, repos: ['other/tool'] },
        ],
        ...opts.app,
      },
    }),
  );
  const lines: string[] = [];
  const log = createLogger({ level: 'trace', destination: { write: (line: string) => lines.push(line) } });
  const app = createGitHubAppAuth({
    appId: APP_ID,
    privateKey: opts.privateKey ?? KEYS.privateKey,
    baseUrl: github.url,
    log,
    refreshMarginMs: opts.refreshMarginMs,
    now: opts.now,
  });
  return { github, app, log, lines };
}

const tokenRequests = (g: GitHubStandIn) =>
  g.calls.filter((c) => c.method === 'POST' && c.path.startsWith('/app/installations/'));

function startupError(run: () => unknown): PatchbayError {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(PatchbayError);
  return caught as PatchbayError;
}

describe('GitHub App installation tokens', () => {
  it("looks up the repository's installation with the App JWT and gets an installation token", async () => {
    const { github, app } = await setUp();

    const token = await app.tokenFor('acme/web');

    expect(github.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /repos/acme/web/installation',
      'POST /app/installations/11/access_tokens',
    ]);
    expect(
      github.calls.every((c) => /^bearer [\w-]+\.[\w-]+\.[\w-]+$/i.test(c.headers.authorization ?? '')),
    ).toBe(true);
    expect(github.jwtRejections).toEqual([]);
    expect(github.installationTokens).toEqual([expect.objectContaining({ token, installationId: 11 })]);
  });

  it('calls the API as the installation of each repository', async () => {
    const { github, app, log } = await setUp();
    const prs = createPullRequests({ octokit: app.clientFor, log });

    await prs.findOpen('acme/web', 'patchbay/x');
    await prs.open({
      repo: 'other/tool',
      branch: 'patchbay/x',
      base: 'main',
      title: 't',
      body: 'b',
      draft: true,
    });

    const [web, tool] = github.installationTokens;
    expect(github.calls.find((c) => c.path === '/repos/acme/web/pulls')?.headers.authorization).toBe(
      `token ${web?.token}`,
    );
    expect(web?.installationId).toBe(11);
    expect(github.calls.find((c) => c.path === '/repos/other/tool/pulls')?.headers.authorization).toBe(
      `token ${tool?.token}`,
    );
    expect(tool?.installationId).toBe(22);
    expect(github.pulls).toHaveLength(1);
  });

  it('caches the token: one installation look-up and one token for many calls, concurrent ones too', async () => {
    const { github, app, log } = await setUp();
    const prs = createPullRequests({ octokit: app.clientFor, log });

    await Promise.all([app.tokenFor('acme/web'), app.tokenFor('acme/web'), app.tokenFor('acme/api')]);
    await prs.findOpen('acme/web', 'patchbay/a');
    await prs.findOpen('acme/api', 'patchbay/b');
    const again = await app.tokenFor('acme/web');

    expect(tokenRequests(github)).toHaveLength(1);
    expect(github.calls.filter((c) => c.path.endsWith('/installation'))).toHaveLength(2);
    expect(again).toBe(github.installationTokens[0]?.token);
  });

  it('refreshes a token once it is within the refresh margin of expiring', async () => {
    // Tokens live 63 s and are refreshed 60 s early: usable for about 3 s on the auth's clock.
    const clock = createManualClock();
    const { github, app, log } = await setUp({
      app: { tokenLifetimeS: 63, now: clock.now },
      refreshMarginMs: 60_000,
      now: clock.now,
    });
    const prs = createPullRequests({ octokit: app.clientFor, log });

    const first = await app.tokenFor('acme/web');
    const reused = await app.tokenFor('acme/web');
    clock.advance(3_100);
    await prs.findOpen('acme/web', 'patchbay/a');
    const second = await app.tokenFor('acme/web');

    expect(reused).toBe(first);
    expect(second).not.toBe(first);
    expect(tokenRequests(github)).toHaveLength(2);
    const list = github.calls.find((c) => c.path === '/repos/acme/web/pulls');
    expect(list?.headers.authorization).toBe(`token ${second}`);
  });

  it('refreshes five minutes before expiry by default', async () => {
    const clock = createManualClock();
    const { github, app } = await setUp({ app: { now: clock.now }, now: clock.now });

    const first = await app.tokenFor('acme/web');
    clock.advance(54 * 60_000);
    const stillCached = await app.tokenFor('acme/web');
    clock.advance(2 * 60_000);
    const refreshed = await app.tokenFor('acme/web');

    expect(stillCached).toBe(first);
    expect(refreshed).not.toBe(first);
    expect(tokenRequests(github)).toHaveLength(2);
  });

  it('answers repo_not_found, permanent, for a repository the App is not installed on', async () => {
    const { app, log } = await setUp();
    const prs = createPullRequests({ octokit: app.clientFor, log });

    const err = await app.tokenFor('acme/secret').catch((e: unknown) => e);
    const viaPublish = await prs
      .publish({
        repo: 'acme/secret',
        branch: 'patchbay/x',
        base: 'main',
        title: 't',
        body: 'b',
        draft: true,
      })
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PatchbayError);
    expect(err).toMatchObject({ code: 'repo_not_found', permanent: true });
    expect((err as PatchbayError).hint).toMatch(/Install the GitHub App on acme\/secret/);
    expect(viaPublish).toMatchObject({ code: 'repo_not_found', permanent: true });
  });

  it('fails permanently with a hint about the App settings when GitHub rejects the JWT', async () => {
    const other = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const { github, app } = await setUp({ privateKey: other.privateKey });

    const err = await app.tokenFor('acme/web').catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'github_error', permanent: true });
    expect((err as PatchbayError).hint).toMatch(/GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY/);
    expect(github.jwtRejections).toEqual(['bad signature']);
  });

  it('never writes the private key or a token into a log line', async () => {
    const { github, app, log, lines } = await setUp();
    const prs = createPullRequests({ octokit: app.clientFor, log });

    await prs.findOpen('acme/web', 'patchbay/a');
    await app.tokenFor('acme/secret').catch(() => undefined);

    expect(lines.some((l) => l.includes('github app installation token issued'))).toBe(true);
    const all = lines.join('');
    const token = github.installationTokens[0]?.token ?? 'missing';
    expect(all).not.toContain(token);
    expect(all).not.toContain(KEYS.privateKey.split('\n')[1]);
  });
});

describe('GitHub App private key', () => {
  it('accepts the key with \\n escapes on one line, as in a .env file', async () => {
    const { github, app } = await setUp({ privateKey: KEYS.privateKey.trim().replace(/\n/g, '\\n') });

    await app.tokenFor('acme/web');

    expect(github.jwtRejections).toEqual([]);
    expect(github.installationTokens).toHaveLength(1);
  });

  it('fails at start-up on a malformed key, naming the variable and not echoing the key', () => {
    const broken = KEYS.privateKey.replace(/[A-Za-z]{8}/, '!!!!!!!!');
    const make = (privateKey: string) => () =>
      createGitHubAppAuth({
        appId: APP_ID,
        privateKey,
        baseUrl: 'http://127.0.0.1:9',
        log: createLogger({ level: 'silent' }),
      });

    for (const bad of [broken, 'not a key at all', KEYS.publicKey]) {
      const err = startupError(make(bad));

      expect(err.code).toBe('invalid_config');
      expect(err.message).toMatch(/^GITHUB_APP_PRIVATE_KEY is not/);
      const shown = `${err.message} ${err.hint ?? ''} ${String(err.cause ?? '')}`;
      expect(shown).not.toContain(bad.split('\n')[1] ?? bad);
    }
  });

  it('fails at start-up on an App ID that is not a number', () => {
    const err = startupError(() =>
      createGitHubAppAuth({
        appId: 'my-app',
        privateKey: KEYS.privateKey,
        baseUrl: 'http://127.0.0.1:9',
        log: createLogger({ level: 'silent' }),
      }),
    );

    expect(err).toMatchObject({ code: 'invalid_config' });
    expect(err.message).toMatch(/GITHUB_APP_ID/);
  });
});

describe('choosing the GitHub auth mode at start-up', () => {
  async function buildWith(env: Record<string, string>) {
    const dir = await mkdtemp(join(tmpdir(), 'patchbay-app-'));
    const lines: string[] = [];
    const log = createLogger({ level: 'info', destination: { write: (line: string) => lines.push(line) } });
    const config = buildConfig(
      parseEnv({ OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', PATCHBAY_DATA_DIR: dir, ...env }),
      FileConfig.parse({ repositories: [{ name: 'acme/web' }] }),
    );
    try {
      return { deps: buildWorkerDeps(config, log), lines };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('uses the App when both the App and GITHUB_TOKEN are set, and says so', async () => {
    const { deps, lines } = await buildWith({
      GITHUB_APP_ID: APP_ID,
      GITHUB_APP_PRIVATE_KEY: KEYS.privateKey,
      GITHUB_TOKEN: 'ghp_personal',
    });

    expect(deps.publisher).toBeDefined();
    expect(lines.join('')).toContain('GitHub App auth on: GITHUB_APP_ID is set, so GITHUB_TOKEN is not used');
  });

  it('fails at start-up naming the missing half of the App pair', async () => {
    const noKey = await buildWith({ GITHUB_APP_ID: APP_ID, GITHUB_TOKEN: 'ghp_personal' }).catch(
      (e: unknown) => e,
    );
    const noId = await buildWith({ GITHUB_APP_PRIVATE_KEY: KEYS.privateKey }).catch((e: unknown) => e);

    expect(noKey).toMatchObject({
      code: 'invalid_config',
      message: 'GitHub App auth needs GITHUB_APP_PRIVATE_KEY too',
    });
    expect(noId).toMatchObject({
      code: 'invalid_config',
      message: 'GitHub App auth needs GITHUB_APP_ID too',
    });
    expect(JSON.stringify(noId)).not.toContain(KEYS.privateKey.split('\n')[1]);
  });

  it('keeps the personal token mode when only GITHUB_TOKEN is set', async () => {
    const { deps, lines } = await buildWith({ GITHUB_TOKEN: 'ghp_personal' });

    expect(deps.publisher).toBeDefined();
    expect(lines.join('')).not.toContain('GitHub App auth on');
  });
});
