import { describe, expect, it } from 'vitest';
import type { ScriptedTurn } from '../../src/demo/scripted-model.js';
import type { TimelineEntry } from '../../src/domain/timeline.js';
import { type Harness, isFinal, REPO } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';
import { FIX_GREETING } from '../fakes/scripts.js';

const start = harnessPerTest();

/** The model tries a name its repository does not list, then does the work anyway. */
const REACH_OUT: ScriptedTurn[] = [
  {
    tool: 'bash',
    args: {
      command:
        'curl -sS --max-time 10 https://evil.example.com/steal; echo "exit=$?"; curl -sS --max-time 10 http://tracker.example.net/x; echo "exit=$?"',
    },
  },
  ...FIX_GREETING,
];

/**
 * The task's network_blocked entry, once the timeline (written in the background) holds it: waits
 * for the entry itself, the test's own timeout being the only bound.
 */
async function blockedEntryOf(h: Harness, id: string): Promise<TimelineEntry> {
  for (;;) {
    const { body } = await h.get(`/api/tasks/${id}/events?limit=1000`);
    const entries = (body.events as Array<{ entry: TimelineEntry }>).map((e) => e.entry);
    const found = entries.find((e) => e.type === 'network_blocked');
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('agent network through the allowlist proxy, API to pull request', () => {
  it('refuses a name the repository does not list, and the PR body and the timeline name it', async () => {
    const h = await start(REACH_OUT, {
      file: {
        repositories: [
          { name: REPO, check: ['node test.js'], network: 'allowlist', domains: ['registry.example.org'] },
        ],
      },
    });

    const created = await h.createTask({ instruction: 'greet() is missing a comma' });
    const task = await h.waitFor(created.body.id, isFinal);
    expect(task.status).toBe('succeeded');
    const blocked = await blockedEntryOf(h, task.id);

    expect(JSON.stringify(h.model.requests[0]?.body)).toContain(
      'bash commands may reach these domains (and their subdomains)',
    );
    const seen = JSON.stringify(h.model.requests[1]?.body);
    expect(seen).toContain('CONNECT tunnel failed, response 403');
    expect(seen).toContain("Patchbay's proxy refused tracker.example.net");
    const pr = h.github.pulls[0];
    expect(pr?.body).toContain('### Network');
    expect(pr?.body).toContain('`evil.example.com`, `tracker.example.net`');
    expect(blocked).toMatchObject({
      names: [
        { name: 'evil.example.com', reason: 'not_listed', count: 1 },
        { name: 'tracker.example.net', reason: 'not_listed', count: 1 },
      ],
      more: 0,
    });
  });

  it('keeps a repository without the allowlist offline, with nothing in the PR body about it', async () => {
    const h = await start(REACH_OUT);

    const created = await h.createTask({ instruction: 'greet() is missing a comma' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(task.status).toBe('succeeded');
    const seen = JSON.stringify(h.model.requests[1]?.body);
    expect(seen).not.toContain("Patchbay's proxy");
    expect(seen).not.toContain('Network for this repository');
    expect(seen).toMatch(/Could not resolve host: evil\.example\.com/);
    expect(h.github.pulls[0]?.body).not.toContain('### Network');
  });
});
