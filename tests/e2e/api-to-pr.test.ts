import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isFinal, REPO } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';
import { ADD_CHANGELOG, FIX_GREETING, SNOOP } from '../fakes/scripts.js';

const start = harnessPerTest();

describe('POST /api/tasks to a pull request', () => {
  it('clones over HTTP with the token, runs the agent in the sandbox, pushes the branch and opens a draft PR', async () => {
    const h = await start(FIX_GREETING);

    const created = await h.createTask({ instruction: 'greet() is missing a comma' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(created.status).toBe(202);
    expect(created.body.status).toBe('queued');
    expect(task.status).toBe('succeeded');
    expect(task.steps).toBe(4);
    expect(task.branch).toMatch(/^patchbay\/[0-9a-f]{8}-greet-is-missing-a-comma$/);
    expect(await h.git.readFile(REPO, task.branch ?? '', 'src/greet.js')).toContain('`Hello, ${name}`');
    expect(await h.git.readFile(REPO, 'main', 'src/greet.js')).toContain("'Hello ' + name");
    expect(h.github.pulls).toHaveLength(1);
    const pr = h.github.pulls[0];
    expect(pr).toMatchObject({ title: 'Fix the greeting punctuation', draft: true, base: { ref: 'main' } });
    expect(pr?.head.ref).toBe(task.branch);
    expect(pr?.body).toContain('greet() now puts a comma after Hello.');
    expect(pr?.body).toContain('HTTP API');
    expect(pr?.body).toContain('node test.js');
    expect(pr?.body).toContain(`<!-- patchbay:task=${task.id}`);
    expect(task.pullRequest?.number).toBe(pr?.number);
    expect(task.checks).toEqual([expect.objectContaining({ command: 'node test.js', exitCode: 0 })]);
    expect(h.github.unmatched).toEqual([]);
    expect(h.model.unmatched).toEqual([]);
  });

  it('leaves no clone behind once the task ends', async () => {
    const h = await start(FIX_GREETING);

    const created = await h.createTask({ instruction: 'fix greet' });
    await h.waitFor(created.body.id, isFinal);

    expect(await readdir(join(h.dir, 'data', 'tasks')).catch(() => [])).toEqual([]);
  });

  it('runs the same delivery once when it is sent twice', async () => {
    const h = await start(FIX_GREETING);

    const first = await h.createTask({ instruction: 'fix greet' }, { 'idempotency-key': 'delivery-1' });
    const second = await h.createTask({ instruction: 'fix greet' }, { 'idempotency-key': 'delivery-1' });
    await h.waitFor(first.body.id, isFinal);
    const third = await h.createTask({ instruction: 'fix greet' }, { 'idempotency-key': 'delivery-1' });

    expect(second.body.id).toBe(first.body.id);
    expect(third.body.id).toBe(first.body.id);
    expect(third.status).toBe(202);
    expect(h.model.requests).toHaveLength(FIX_GREETING.length);
    expect(h.github.pulls).toHaveLength(1);
  });

  it('continues the branch and updates the same PR on a follow-up in the conversation', async () => {
    const h = await start([...FIX_GREETING, ...ADD_CHANGELOG]);

    const first = await h.createTask({ instruction: 'fix greet', conversation: 'c1' });
    const done = await h.waitFor(first.body.id, isFinal);
    const followUp = await h.createTask({ instruction: 'also add a changelog', conversation: 'c1' });
    const second = await h.waitFor(followUp.body.id, isFinal);

    expect(followUp.body.id).not.toBe(first.body.id);
    expect(second.status).toBe('succeeded');
    expect(second.branch).toBe(done.branch);
    expect(second.pullRequest?.number).toBe(done.pullRequest?.number);
    expect(h.github.pulls).toHaveLength(1);
    expect((await h.git.log(REPO, done.branch ?? '')).slice(0, 2)).toEqual([
      'Add a changelog entry',
      'Fix the greeting punctuation',
    ]);
    expect(await h.git.readFile(REPO, done.branch ?? '', 'CHANGELOG.md')).toBe('- greeting fixed\n');
    expect(h.github.pulls[0]?.title).toBe('Add a changelog entry');
  });

  it('holds a follow-up that arrives during a run and runs it right after, on the same branch', async () => {
    let answer: () => void = () => undefined;
    const until = new Promise<void>((r) => (answer = r)); // the first run's second turn waits for the test
    const slowFirst = FIX_GREETING.map((turn, i) => (i === 1 ? { ...turn, until } : turn));
    const h = await start([...slowFirst, ...ADD_CHANGELOG]);

    const first = await h.createTask({ instruction: 'fix greet', conversation: 'busy' });
    await h.waitFor(first.body.id, (t) => t.status === 'running');
    const second = await h.createTask({ instruction: 'also add a changelog', conversation: 'busy' });
    const queuedMeanwhile = await h.getTask(second.body.id);
    answer();
    const done = await h.waitFor(second.body.id, isFinal);
    const firstDone = await h.getTask(first.body.id);

    expect(queuedMeanwhile.status).toBe('queued');
    expect(firstDone.status).toBe('succeeded');
    expect(done.status).toBe('succeeded');
    expect(done.branch).toBe(firstDone.branch);
    const order = h.events
      .filter((e) => e.type === 'finished' || e.type === 'started')
      .map((e) => `${e.type}:${e.task.id}`);
    expect(order).toEqual([
      `started:${first.body.id}`,
      `finished:${first.body.id}`,
      `started:${second.body.id}`,
      `finished:${second.body.id}`,
    ]);
    expect(JSON.stringify(h.model.requests[FIX_GREETING.length]?.body)).toContain('also add a changelog');
    expect(h.github.pulls).toHaveLength(1);
  });

  it('succeeds without a PR when nothing changed, and never shows the model a secret', async () => {
    const h = await start(SNOOP);

    const created = await h.createTask({ instruction: 'look around' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(task.status).toBe('succeeded');
    expect(task.pullRequest).toBeUndefined();
    expect(task.summary).toMatch(/no pull request/i);
    expect(h.github.pulls).toHaveLength(0);
    const seen = h.model.requests.map((r) => r.raw).join('\n');
    expect(seen).toContain('[core]');
    for (const secret of Object.values(h.secrets)) expect(seen).not.toContain(secret);
    expect(seen).not.toContain('x-access-token');
    expect(seen).not.toMatch(/GITHUB_TOKEN=|OPENAI_API_KEY=|REDIS_URL=/);
    for (const secret of Object.values(h.secrets)) expect(h.logLines.join('')).not.toContain(secret);
  });
});
