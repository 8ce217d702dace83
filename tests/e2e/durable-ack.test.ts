import { describe, expect, it } from 'vitest';
import { freePort } from '../fakes/free-port.js';
import { isFinal, queuedTaskIds, REPO } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';
import { FIX_GREETING } from '../fakes/scripts.js';
import { slackPerTest } from '../fakes/slack-per-test.js';
import { eventually, nextTs, slackEvent } from '../fakes/slack-requests.js';

const slackStart = slackPerTest();
const apiStart = harnessPerTest();

describe('the durable ack', () => {
  it('makes one task of a Slack delivery sent three times, two of them at once', async () => {
    const { h, send, posts } = await slackStart([], { worker: false });
    const ts = nextTs();
    const body = slackEvent('app_mention_channel', { text: '<@UPATCHBOT> fix greet in acme/web', ts });
    const retry = { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } };

    const answers = await Promise.all([send(body), send(body, retry)]);
    const later = await send(body, retry);
    const reply = await eventually(() => posts(ts)[0], 20_000, 'accepted reply');
    const taskId = /task `(t[0-9a-z]+)`/.exec(reply.args.text ?? '')?.[1] ?? '';
    const task = await h.getTask(taskId);

    expect([...answers.map((r) => r.status), later.status]).toEqual([200, 200, 200]);
    expect(queuedTaskIds(h)).toEqual([taskId]);
    expect(task).toMatchObject({ status: 'queued', repo: REPO });
    expect(posts(ts)).toHaveLength(1);
  });

  it('answers queued to a GET right after the 202, before the task is made, and makes it once a consumer runs', async () => {
    const h = await apiStart([], {
      worker: false,
      inbox: { consume: false },
      env: { PORT: String(await freePort()) }, // the restarted server listens where the first did
    });

    const created = await h.createTask({ instruction: 'fix the greeting' });
    const right = await h.get(`/api/tasks/${created.body.id}`);
    const again = await h.createTask({ instruction: 'fix the greeting' }, { 'idempotency-key': 'k-1' });
    const repeat = await h.createTask({ instruction: 'fix the greeting' }, { 'idempotency-key': 'k-1' });
    const queuedBefore = queuedTaskIds(h);
    await h.restartServer();
    const made = await eventually(() => (queuedTaskIds(h).length === 2 ? queuedTaskIds(h) : null));
    const listed = await h.get('/api/tasks');

    expect(created.status).toBe(202);
    expect(created.body.status).toBe('queued');
    expect(right.status).toBe(200);
    expect(right.body).toMatchObject({ id: created.body.id, status: 'queued', repo: REPO });
    expect(repeat.body).toMatchObject({ id: again.body.id, status: 'queued', repeated: true });
    expect(queuedBefore).toEqual([]);
    expect(made.sort()).toEqual([created.body.id, again.body.id].sort());
    expect(listed.body.tasks.map((t: { id: string }) => t.id).sort()).toEqual(made);
  });

  it('tells the thread when the consumer refuses a mention: the thread works on another repository', async () => {
    const { h, send, posts, mention } = await slackStart(FIX_GREETING, {
      file: { repositories: [{ name: REPO }, { name: 'acme/api' }] },
    });
    const first = await mention('fix greet in acme/web');
    const accepted = await eventually(() => posts(first.ts)[0], 20_000, 'first task accepted');
    await h.waitFor(/task `(t[0-9a-z]+)`/.exec(accepted.args.text ?? '')?.[1] ?? '', isFinal);

    const inThread = await send(
      slackEvent('app_mention_thread', {
        text: '<@UPATCHBOT> now do the same in acme/api',
        ts: nextTs(),
        thread_ts: first.ts,
      }),
    );
    const refusal = await eventually(
      () => posts(first.ts).find((c) => String(c.args.text).startsWith("I can't")),
      20_000,
      'refusal',
    );

    expect(inThread.status).toBe(200);
    expect(refusal.args.text).toMatch(/^I can't start that: conversation .* works on acme\/web/);
  });
});
