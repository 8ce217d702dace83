import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type GitHubStandIn, startGitHubStandIn } from '../../src/demo/github-stand-in.js';
import { createGitHubAppAuth } from '../../src/integrations/github/create-github-app-auth.js';
import { createPermissionNotice } from '../../src/integrations/github/permission-notice.js';
import { createLogger } from '../../src/lib/logger.js';
import { createRedisKeyValue } from '../../src/queue/redis-key-value.js';
import { REDIS_URL } from '../fakes/redis.js';
import { standInPerTest } from '../fakes/stand-in-per-test.js';

const KEYS = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
});
const track = standInPerTest<GitHubStandIn>();
const redis = new Redis(REDIS_URL);
afterAll(() => redis.disconnect());

/** A process of Patchbay as far as the notice goes: its App auth, its log, the shared Redis. */
function aProcess(github: GitHubStandIn, prefix: string) {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({
    level: 'info',
    destination: { write: (l: string) => lines.push(JSON.parse(l)) },
  });
  const app = createGitHubAppAuth({ appId: '4242', privateKey: KEYS.privateKey, baseUrl: github.url, log });
  const notice = createPermissionNotice({
    permissionsFor: app.permissionsFor,
    kv: createRedisKeyValue({ redis, prefix, namespace: 'github' }),
    log,
  });
  const warnings = () =>
    lines.filter((l) => String(l.msg).startsWith('the GitHub App lacks permissions the autofix needs'));
  return { notice, warnings };
}

describe('the autofix says what the GitHub App lacks', () => {
  it('says once, at the first check event, which of checks, actions and statuses are missing; once across processes', async () => {
    const github = track(
      await startGitHubStandIn({
        repos: [{ name: 'acme/web' }],
        app: {
          id: '4242',
          publicKey: KEYS.publicKey,
          installations: [{ id: 11, repos: ['acme/web'] }],
          permissions: { contents: 'write', pull_requests: 'write', issues: 'write', checks: 'read' },
        },
      }),
    );
    const prefix = `pbtest:${randomBytes(4).toString('hex')}:`;
    const one = aProcess(github, prefix);
    const two = aProcess(github, prefix);

    await one.notice.lookOnce('acme/web');
    await one.notice.lookOnce('acme/web');
    await one.notice.refused('actions');
    await two.notice.lookOnce('acme/web');

    expect(one.warnings()).toHaveLength(1);
    expect(one.warnings()[0]).toMatchObject({
      missing: ['actions: read', 'statuses: read'],
      how: 'installation',
    });
    expect(two.warnings()).toEqual([]);
  });

  it('says nothing when the installation granted all three', async () => {
    const github = track(
      await startGitHubStandIn({
        repos: [{ name: 'acme/web' }],
        app: { id: '4242', publicKey: KEYS.publicKey, installations: [{ id: 11, repos: ['acme/web'] }] },
      }),
    );
    const one = aProcess(github, `pbtest:${randomBytes(4).toString('hex')}:`);

    await one.notice.lookOnce('acme/web');

    expect(one.warnings()).toEqual([]);
  });
});
