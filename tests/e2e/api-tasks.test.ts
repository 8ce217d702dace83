import { describe, expect, it } from 'vitest';
import type { ScriptedTurn } from '../../src/demo/scripted-model.js';
import { isFinal, REPO } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';
import { processStarted } from '../fakes/host-processes.js';
import { FIX_GREETING } from '../fakes/scripts.js';

const start = harnessPerTest();

/** A command that outlasts the test: the task ends only when it is stopped. */
const LONG: ScriptedTurn[] = [{ tool: 'bash', args: { command: 'sleep 600.403', timeout_s: 900 } }];

describe('the task API', () => {
  it('lists tasks newest first with filters and a cursor, and links each to its page', async () => {
    const h = await start([...FIX_GREETING, ...FIX_GREETING, ...FIX_GREETING], {
      env: { PATCHBAY_PUBLIC_URL: 'https://pb.acme.example' },
    });
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const created = await h.createTask({ instruction: `fix the greeting ${n}`, conversation: `list-${n}` });
      ids.push(created.body.id);
      await h.waitFor(created.body.id, isFinal);
    }

    const first = await h.get('/api/tasks?limit=2');
    const second = await h.get(`/api/tasks?limit=2&cursor=${first.body.next}`);
    const filtered = await h.get(`/api/tasks?status=succeeded&repo=${REPO}`);
    const none = await h.get('/api/tasks?status=failed');
    const bad = await h.get('/api/tasks?status=exploded');

    expect(first.body.tasks.map((t: { id: string }) => t.id)).toEqual([ids[2], ids[1]]);
    expect(second.body.tasks.map((t: { id: string }) => t.id)).toEqual([ids[0]]);
    expect(second.body.next).toBeUndefined();
    expect(filtered.body.tasks).toHaveLength(3);
    expect(none.body.tasks).toEqual([]);
    expect(bad.status).toBe(400);
    expect(first.body.tasks[0]).toMatchObject({
      id: ids[2],
      conversation: 'list-3',
      repo: REPO,
      source: 'api',
      status: 'succeeded',
      headline: 'fix the greeting 3',
      pageUrl: `https://pb.acme.example/tasks/${ids[2]}`,
    });
  });

  it('retries a stopped task once, in the same conversation, with a fresh budget', async () => {
    const h = await start([...LONG, ...FIX_GREETING]);
    const created = await h.createTask({ instruction: 'fix the greeting', conversation: 'retry-me' });
    await processStarted('600.403');
    await h.post(`/api/tasks/${created.body.id}/cancel`, {});
    const stopped = await h.waitFor(created.body.id, isFinal);

    const retried = await h.post(`/api/tasks/${created.body.id}/retry`, {});
    const again = await h.post(`/api/tasks/${created.body.id}/retry`, {});
    const retryBody = (await retried.json()) as { id: string; retryOf: string; conversation: string };
    const done = await h.waitFor(retryBody.id, isFinal);
    const original = await h.getTask(created.body.id);
    const notAgain = await h.post(`/api/tasks/${retryBody.id}/retry`, {});

    expect(stopped.status).toBe('cancelled');
    expect(retried.status).toBe(202);
    expect((await again.json()) as { id: string; repeated: boolean }).toMatchObject({
      id: retryBody.id,
      repeated: true,
    });
    expect(retryBody).toMatchObject({ retryOf: created.body.id, conversation: 'retry-me' });
    expect(done.status).toBe('succeeded');
    expect((original as { retriedBy?: string }).retriedBy).toBe(retryBody.id);
    expect(notAgain.status).toBe(400);
  });

  it('answers 404 for the diff of a task that has none yet, and 401 to a request that is not signed in', async () => {
    const h = await start(FIX_GREETING);
    const created = await h.createTask({ instruction: 'fix the greeting' });

    const diff = await h.get(`/api/tasks/${created.body.id}/diff`);
    const signedOut = await fetch(`${h.base}/api/tasks`);

    expect(diff.status).toBe(404);
    expect(diff.body.error.message).toMatch(/no diff/);
    expect(signedOut.status).toBe(401);
  });
});
