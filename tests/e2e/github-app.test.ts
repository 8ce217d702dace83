import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, INSTALLATION_ID, isFinal, REPO, startHarness } from '../fakes/harness.js';
import { FIX_GREETING, SNOOP } from '../fakes/scripts.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Every secret of an App-mode run: the App key (each line of its body) and the installation tokens. */
function appSecrets(h: Harness): string[] {
  const keyLines = (h.secrets.appPrivateKey ?? '')
    .split('\n')
    .filter((l) => l.length > 0 && !l.startsWith('-----'));
  return [...keyLines, ...h.github.installationTokens.map((t) => t.token), h.secrets.openaiKey];
}

describe('GitHub App mode', () => {
  it('clones and pushes with the installation token and opens the PR as the installation', async () => {
    h = await startHarness({ script: FIX_GREETING, githubAuth: 'app' });

    const created = await h.createTask({ instruction: 'greet() is missing a comma' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(task.status).toBe('succeeded');
    expect(await h.git.readFile(REPO, task.branch ?? '', 'src/greet.js')).toContain('`Hello, ${name}`');
    expect(h.github.pulls).toHaveLength(1);
    expect(h.github.pulls[0]?.head.ref).toBe(task.branch);
    expect(h.github.installationTokens).toEqual([
      expect.objectContaining({ installationId: INSTALLATION_ID }),
    ]);
    const token = h.github.installationTokens[0]?.token;
    const routes = h.github.calls.map((c) => `${c.method} ${c.path}`);
    expect(routes.slice(0, 2)).toEqual([
      'GET /repos/acme/web/installation',
      `POST /app/installations/${INSTALLATION_ID}/access_tokens`,
    ]);
    const asInstallation = h.github.calls.filter(
      (c) => !c.path.endsWith('/installation') && !c.path.startsWith('/app/'),
    );
    expect(asInstallation.map((c) => c.headers.authorization)).toEqual(
      asInstallation.map(() => `token ${token}`),
    );
    expect(asInstallation.some((c) => c.method === 'POST' && c.path === '/repos/acme/web/pulls')).toBe(true);
    expect(h.github.jwtRejections).toEqual([]);
    expect(h.github.unmatched).toEqual([]);
    expect(h.logLines.join('')).toContain('GitHub App auth on');
  });

  it('refuses git without the installation token', async () => {
    h = await startHarness({ script: FIX_GREETING, githubAuth: 'app' });

    const anonymous = await fetch(`${h.git.url}/${REPO}.git/info/refs?service=git-upload-pack`);
    const withPersonalToken = await fetch(`${h.git.url}/${REPO}.git/info/refs?service=git-upload-pack`, {
      headers: {
        authorization: `Basic ${Buffer.from(`x-access-token:${h.secrets.githubToken}`).toString('base64')}`,
      },
    });

    expect(anonymous.status).toBe(401);
    expect(withPersonalToken.status).toBe(401);
  });

  it('never shows the App key or an installation token to the model or the logs', async () => {
    h = await startHarness({ script: SNOOP, githubAuth: 'app' });

    const created = await h.createTask({ instruction: 'look around' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(task.status).toBe('succeeded');
    expect(h.github.installationTokens.length).toBeGreaterThan(0);
    const seen = h.model.requests.map((r) => r.raw).join('\n');
    const logs = h.logLines.join('');
    expect(seen).toContain('[core]');
    for (const secret of appSecrets(h)) {
      expect(seen).not.toContain(secret);
      expect(logs).not.toContain(secret);
    }
    expect(seen).not.toMatch(/GITHUB_APP_PRIVATE_KEY|BEGIN RSA PRIVATE KEY|x-access-token/);
  });
});
