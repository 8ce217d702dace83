import { describe, expect, it } from 'vitest';
import { ACCESS_TTL_MS } from '../../src/build-sign-in.js';
import { createManualClock } from '../fakes/manual-clock.js';
import { type SignInServer, signInServerPerTest, signInWithGitHub } from '../fakes/sign-in-server.js';

const start = signInServerPerTest();

const ROLES: Record<string, string> = {
  ada: 'admin',
  max: 'maintain',
  wes: 'write',
  tom: 'triage',
  rob: 'read',
  nan: 'none',
};

async function accessOf(server: SignInServer, cookie: string, repos: string[]) {
  const query = new URLSearchParams(repos.map((r): [string, string] => ['repo', r]));
  const res = await fetch(`${server.base}/api/probe/viewer?${query}`, { headers: { cookie } });
  return ((await res.json()) as { access: Record<string, boolean> }).access;
}

const permissionCalls = (server: SignInServer, repo: string) =>
  server.github.calls.filter((c) => c.path.startsWith(`/repos/${repo}/collaborators/`));

describe('who may see a repository’s tasks', () => {
  it('admin, maintain and write may; triage, read and none may not; never a repository off the allowlist', async () => {
    const server = await start();
    for (const [login, role] of Object.entries(ROLES)) server.github.setPermission(login, role);

    const seen: Record<string, Record<string, boolean>> = {};
    for (const login of Object.keys(ROLES)) {
      const { session = '' } = await signInWithGitHub(server, login);
      seen[login] = await accessOf(server, session, ['acme/web', 'acme/api', 'acme/secret']);
    }

    const yes = { 'acme/web': true, 'acme/api': true, 'acme/secret': false };
    const no = { 'acme/web': false, 'acme/api': false, 'acme/secret': false };
    expect(seen).toEqual({ ada: yes, max: yes, wes: yes, tom: no, rob: no, nan: no });
    expect(permissionCalls(server, 'acme/secret')).toEqual([]);
    expect(permissionCalls(server, 'acme/web')[0]?.headers.authorization).toBe(
      `token ${server.secrets.githubToken}`,
    );
  });

  it('remembers an answer for a few minutes, then asks GitHub again', async () => {
    const clock = createManualClock();
    const server = await start({ clock });
    server.github.setPermission('wes', 'write');
    const { session = '' } = await signInWithGitHub(server, 'wes');

    await accessOf(server, session, ['acme/web']);
    clock.advance(ACCESS_TTL_MS - 1);
    const cached = await accessOf(server, session, ['acme/web']);
    const askedWhileCached = permissionCalls(server, 'acme/web').length;
    server.github.setPermission('wes', 'read');
    clock.advance(1);
    const later = await accessOf(server, session, ['acme/web']);

    expect(cached).toEqual({ 'acme/web': true });
    expect(askedWhileCached).toBe(1);
    expect(later).toEqual({ 'acme/web': false });
    expect(permissionCalls(server, 'acme/web')).toHaveLength(2);
  });

  it('counts a failed look-up as no access and asks again next time', async () => {
    const server = await start();
    server.github.setPermission('wes', 'write');
    const { session = '' } = await signInWithGitHub(server, 'wes');
    server.github.failNext('GET /repos/:owner/:repo/collaborators/:user/permission', 404);

    const failed = await accessOf(server, session, ['acme/web']);
    const retried = await accessOf(server, session, ['acme/web']);

    expect(failed).toEqual({ 'acme/web': false });
    expect(retried).toEqual({ 'acme/web': true });
    expect(server.logLines.join('')).toContain('repository access look-up failed');
  });

  it('lets the bearer operator see every repository without asking GitHub', async () => {
    const server = await start();

    const res = await fetch(`${server.base}/api/probe/viewer?repo=acme/web&repo=acme/secret`, {
      headers: { authorization: `Bearer ${server.secrets.apiToken}` },
    });

    expect(await res.json()).toEqual({
      name: 'operator',
      operator: true,
      via: 'bearer',
      access: { 'acme/web': true, 'acme/secret': true },
    });
    expect(server.github.calls).toEqual([]);
  });
});
