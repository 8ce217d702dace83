import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GitHttpServer, startGitHttpServer } from '../../src/demo/git-http-server.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createWorkspaces } from '../../src/workspace/create-workspaces.js';
import { tokenCredentials } from '../../src/workspace/types.js';
import { eventually } from '../fakes/slack-requests.js';

let server: GitHttpServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  server = undefined;
  dir = undefined;
});

describe('cancelling git work', () => {
  it('aborts a mirror fetch from a remote that hangs, and leaves no half-made mirror', async () => {
    dir = await mkdtemp(join(tmpdir(), 'patchbay-cancel-'));
    // The remote answers long after the test's own timeout: the fetch ends only if it is aborted.
    server = await startGitHttpServer({ root: join(dir, 'remote'), token: 'tok', delayMs: 600_000 });
    await server.createRepo('acme/slow', { 'README.md': 'hi\n' });
    const workspaces = createWorkspaces({
      root: join(dir, 'data'),
      remoteUrl: (repo) => `${server?.url}/${repo}.git`,
      credentials: tokenCredentials('tok'),
      log: createSilentLogger(),
      pool: { size: 0 },
    });
    const controller = new AbortController();
    const remote = server;
    void eventually(() => remote.received > 0).then(() => controller.abort('cancelled')); // fetch under way

    const error = await workspaces.syncMirror('acme/slow', controller.signal).catch((err: Error) => err);

    expect(error).toBeInstanceOf(Error);
    expect(server.requests).toBe(0); // nothing was answered: the fetch was cut while it waited
    expect(await readdir(join(dir, 'data', 'mirrors')).catch(() => [])).toEqual([]);
  });
});
