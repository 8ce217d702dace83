import { chmod, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createTaskQueue } from '../../src/queue/task-queue.js';
import { type Harness, isFinal, REPO } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';
import { processStarted, waitUntilGone } from '../fakes/host-processes.js';
import { REDIS_URL } from '../fakes/redis.js';
import { FIX_GREETING } from '../fakes/scripts.js';

const start = harnessPerTest();

/** The harness's queue's jobs by state, read straight from Redis. */
async function jobCounts(h: Harness): Promise<Record<string, number>> {
  const redis = new Redis(REDIS_URL);
  const queue = createTaskQueue({ connection: redis, name: h.workerProcessEnv.PATCHBAY_QUEUE });
  try {
    return await queue.queue.getJobCounts('active', 'completed', 'delayed', 'failed', 'prioritized', 'wait');
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

describe('questions, cancel and budgets', () => {
  it('waits for input on ask_user and resumes the same task, transcript kept, when the conversation answers', async () => {
    const h = await start([
      { tool: 'ask_user', args: { question: 'Comma or colon?' } },
      {
        tool: 'write_file',
        args: { path: 'src/greet.js', content: 'export const greet = (n) => `Hello, ${n}`;\n' },
      },
      { tool: 'finish', args: { title: 'Use a comma', summary: 'As answered.' } },
    ]);

    const created = await h.createTask({ instruction: 'fix greet', conversation: 'q1' });
    const waiting = await h.waitFor(created.body.id, (t) => t.status === 'waiting_for_input');
    const answer = await h.createTask({ instruction: 'a comma, please', conversation: 'q1' });
    const done = await h.waitFor(created.body.id, isFinal);

    expect(waiting.question).toBe('Comma or colon?');
    expect(answer.body.id).toBe(created.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.pullRequest).toBeDefined();
    const resumed = h.model.requests[1]?.body as { messages: Array<{ role: string; content: unknown }> };
    expect(resumed.messages.some((m) => m.role === 'assistant')).toBe(true);
    expect(JSON.stringify(resumed.messages.at(-1))).toContain('a comma, please');
  });

  it('cancels a running task: its command is killed and it ends cancelled', async () => {
    // The command would outlast the test: the task can end only if the cancel stops it.
    const h = await start([{ tool: 'bash', args: { command: 'sleep 600.401', timeout_s: 900 } }]);
    const created = await h.createTask({ instruction: 'take your time' });
    await processStarted('600.401'); // the agent's command runs in the sandbox

    const res = await h.post(`/api/tasks/${created.body.id}/cancel`, {});
    const task = await h.waitFor(created.body.id, isFinal);

    expect(res.status).toBe(202);
    expect(task.status).toBe('cancelled');
    expect(await waitUntilGone('600.401')).toBe(true);
    expect(h.github.pulls).toHaveLength(0);
    expect(await readdir(join(h.dir, 'data', 'tasks')).catch(() => [])).toEqual([]);
  });

  it('cancels a queued task before any worker takes it', async () => {
    const h = await start(FIX_GREETING, { worker: false });
    const created = await h.createTask({ instruction: 'fix greet' });

    const res = await h.post(`/api/tasks/${created.body.id}/cancel`, {});
    const jobsLeft = await jobCounts(h); // the job was withdrawn before the answer: no worker can take it
    await h.startWorker();

    expect(res.status).toBe(202);
    expect(jobsLeft).toEqual({ active: 0, completed: 0, delayed: 0, failed: 0, prioritized: 0, wait: 0 });
    expect((await h.getTask(created.body.id)).status).toBe('cancelled');
    expect(h.model.requests).toHaveLength(0);
  });

  it('stops at the step budget and says which limit was hit', async () => {
    const h = await start(FIX_GREETING, { file: { budget: { steps: 2 } } });

    const created = await h.createTask({ instruction: 'fix greet' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(task.status).toBe('failed');
    expect(task.error?.code).toBe('budget_exhausted');
    expect(task.error?.message).toMatch(/step/i);
    expect(task.steps).toBe(2);
    expect(h.github.pulls).toHaveLength(0);
  });

  it('stops at the cost budget using the configured price', async () => {
    const h = await start(FIX_GREETING, {
      file: { budget: { usd: 0.002 }, pricing: { scripted: { input: 1, cached_input: 0.1, output: 10 } } },
    });

    const created = await h.createTask({ instruction: 'fix greet' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(task.status).toBe('failed');
    expect(task.error?.code).toBe('budget_exhausted');
    expect(task.error?.message).toMatch(/cost|\$/i);
    expect(task.usage.usd).toBeGreaterThan(0);
  });
});

describe('setup and check commands', () => {
  it('runs setup before the agent and checks after it, and puts the check results in the PR', async () => {
    const h = await start(FIX_GREETING, {
      file: {
        repositories: [
          { name: REPO, setup: ['echo ready > .setup-done'], check: ['test -f .setup-done', 'exit 4'] },
        ],
      },
    });

    const created = await h.createTask({ instruction: 'fix greet' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(task.status).toBe('succeeded');
    expect(task.checks).toEqual([
      expect.objectContaining({ command: 'test -f .setup-done', exitCode: 0 }),
      expect.objectContaining({ command: 'exit 4', exitCode: 4 }),
    ]);
    expect(h.github.pulls[0]?.body).toMatch(/exit 4/);
  });

  it('fails the task with the command and its output when setup fails, before the agent starts', async () => {
    const h = await start(FIX_GREETING, {
      file: { repositories: [{ name: REPO, setup: ['echo "npm ERR! missing lockfile" && exit 3'] }] },
    });

    const created = await h.createTask({ instruction: 'fix greet' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(task.status).toBe('failed');
    expect(task.error?.code).toBe('setup_failed');
    expect(task.error?.message).toContain('exited 3');
    expect(task.error?.hint).toContain('npm ERR! missing lockfile');
    expect(h.model.requests).toHaveLength(0);
    expect(await h.git.branches(REPO)).toEqual(['main']);
  });
});

describe('bad input', () => {
  it('answers malformed bodies, unknown repositories and missing auth with clear 4xx errors', async () => {
    const h = await start([]);

    const notJson = await fetch(`${h.base}/api/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.secrets.apiToken}`, 'content-type': 'application/json' },
      body: '{nope',
    });
    const empty = await h.createTask({ instruction: '' });
    const outside = await h.createTask({ repo: 'evil/repo', instruction: 'x' });
    const badName = await h.createTask({ repo: '../etc', instruction: 'x' });
    const noAuth = await fetch(`${h.base}/api/tasks`, { method: 'POST', body: '{}' });
    const missing = await fetch(`${h.base}/api/tasks/nope`, {
      headers: { authorization: `Bearer ${h.secrets.apiToken}` },
    });

    expect(notJson.status).toBe(400);
    expect(empty.status).toBe(400);
    expect(JSON.stringify(empty.body)).toContain('instruction');
    expect(outside.status).toBe(422);
    expect(JSON.stringify(outside.body)).toContain('acme/web');
    expect(badName.status).toBe(400);
    expect(noAuth.status).toBe(401);
    expect(missing.status).toBe(404);
    expect(h.model.requests).toHaveLength(0);
  });

  it('fails a task whose base branch does not exist, leaving no branch and no clone', async () => {
    const h = await start(FIX_GREETING);

    const created = await h.createTask({ instruction: 'fix greet', base: 'no-such-branch' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(task.status).toBe('failed');
    expect(task.error?.code).toBe('base_not_found');
    expect(await h.git.branches(REPO)).toEqual(['main']);
    expect(await readdir(join(h.dir, 'data', 'tasks')).catch(() => [])).toEqual([]);
    expect(h.model.requests).toHaveLength(0);
  });

  it('fails a task on an allowlisted repository that GitHub does not have', async () => {
    const h = await start(FIX_GREETING, { file: { repositories: [{ name: REPO }, { name: 'acme/ghost' }] } });

    const created = await h.createTask({ repo: 'acme/ghost', instruction: 'x' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(task.status).toBe('failed');
    expect(task.error?.code).toBe('repo_not_found');
  });

  it('fails after retries when the model endpoint keeps answering 500, and keeps serving', async () => {
    const h = await start((_req, turn) =>
      turn < 100 ? { status: 500, body: { error: { message: 'boom' } } } : { content: '' },
    );

    const created = await h.createTask({ instruction: 'fix greet' });
    const task = await h.waitFor(created.body.id, isFinal, 60_000);
    const health = await fetch(`${h.base}/healthz`);

    expect(task.status).toBe('failed');
    expect(task.error?.code).toBe('model_error');
    expect(health.status).toBe(200);
  });

  it('fails when the model endpoint answers garbage', async () => {
    const h = await start((_req, _turn) => ({ raw: '<html>not json</html>' }));

    const created = await h.createTask({ instruction: 'fix greet' });
    const task = await h.waitFor(created.body.id, isFinal, 60_000);

    expect(task.status).toBe('failed');
    expect(task.error?.code).toMatch(/model_error|model_malformed/);
  });

  it('fails cleanly when the remote rejects the push, and leaves no stray branch', async () => {
    const h = await start([...FIX_GREETING, ...FIX_GREETING]);
    const hook = join(h.dir, 'remote', `${REPO}.git`, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "protected by policy" >&2\nexit 1\n');
    await chmod(hook, 0o755);

    const created = await h.createTask({ instruction: 'fix greet' });
    const task = await h.waitFor(created.body.id, isFinal, 60_000);

    expect(task.status).toBe('failed');
    expect(task.error?.code).toBe('push_rejected');
    expect(await h.git.branches(REPO)).toEqual(['main']);
    expect(h.github.pulls).toHaveLength(0);
    expect(await readdir(join(h.dir, 'data', 'tasks')).catch(() => [])).toEqual([]);
  });
});
