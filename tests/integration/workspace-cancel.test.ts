import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type GitHttpServer, startGitHttpServer } from '../../src/demo/git-http-server.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createWorkspaces } from '../../src/workspace/create-workspaces.js';
import { tokenCredentials } from '../../src/workspace/types.js';

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
    server = await startGitHttpServer({ root: join(dir, 'remote'), token: 'tok', delayMs: 30_000 });
    await server.createRepo('acme/slow', { 'README.md': 'hi\n' });
    const workspaces = createWorkspaces({
      root: join(dir, 'data'),
      remoteUrl: (repo) => `${server?.url}/${repo}.git`,
      credentials: tokenCredentials('tok'),
      log: createSilentLogger(),
      pool: { size: 0 },
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort('cancelled'), 300);

    const started = Date.now();
    const error = await workspaces.syncMirror('acme/slow', controller.signal).catch((err: Error) => err);

    expect(error).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await readdir(join(dir, 'data', 'mirrors')).catch(() => [])).toEqual([]);
  });
});
