import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { tempDir } from '../../src/demo/git-fixtures.js';
import { type GitHttpServer, startGitHttpServer } from '../../src/demo/git-http-server.js';
import { PatchbayError } from '../../src/domain/errors.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createWorkspaces } from '../../src/workspace/create-workspaces.js';
import { tokenCredentials } from '../../src/workspace/types.js';

/** What a test of workspaces works with: the remote, its directory, the workspace root, the repository. */
export interface GitRemoteTest {
  server: GitHttpServer;
  remoteRoot: string;
  root: string;
  repo: string;
}

/**
 * A git HTTP remote that checks `token`, one per test file, and per test a fresh repository
 * (`<name><n>` holding `files`) and workspace root; `workspaces()` makes workspaces against them.
 */
export function gitRemotePerTest(opts: { token: string; name: string; files: Record<string, string> }) {
  const t = {} as GitRemoteTest;
  let counter = 0;
  beforeAll(async () => {
    t.remoteRoot = await tempDir('patchbay-remote-');
    t.server = await startGitHttpServer({ root: t.remoteRoot, token: opts.token });
  });
  afterAll(async () => {
    await t.server.close();
    await rm(t.remoteRoot, { recursive: true, force: true });
  });
  beforeEach(async () => {
    t.root = await tempDir('patchbay-ws-');
    counter += 1;
    t.repo = `${opts.name}${counter}`;
    await t.server.createRepo(t.repo, opts.files);
  });
  const workspaces = (token = opts.token) =>
    createWorkspaces({
      root: t.root,
      remoteUrl: (r) => `${t.server.url}/${r}.git`,
      credentials: tokenCredentials(token),
      log: createSilentLogger(),
    });
  return { t, workspaces };
}

/** The PatchbayError a promise rejects with; fails the test when it resolves or rejects otherwise. */
export async function rejection(promise: Promise<unknown>): Promise<PatchbayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PatchbayError);
  return err as PatchbayError;
}
