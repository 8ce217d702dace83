import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { git } from '../../src/demo/git-fixtures.js';
import type { Script, ScriptedModel, ScriptedRequest } from '../../src/demo/scripted-model.js';
import { type Harness, isFinal, REPO, startHarness } from '../fakes/harness.js';
import { processStarted, waitUntilGone } from '../fakes/host-processes.js';
import { FIX_GREETING } from '../fakes/scripts.js';
import { exited, spawnWorker as spawnProcess } from '../fakes/worker-process.js';

let h: Harness | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await h?.close();
  h = undefined;
});

function spawnWorker(env: Record<string, string>): ChildProcess & { logLines: string[] } {
  const child = spawnProcess(env);
  children.push(child);
  return child;
}

/** Plays FIX_GREETING by the run's own turn count, stalling once on turn `at` (0-based; default its second). */
function stallOnce(at = 1): { script: Script; stalled: Promise<void> } {
  let stalledOnce = false;
  let signal: () => void = () => undefined;
  const stalled = new Promise<void>((resolve) => {
    signal = resolve;
  });
  const script = (req: ScriptedRequest) => {
    const turn = req.messages.filter((m) => (m as { role: string }).role === 'assistant').length;
    const next = FIX_GREETING[turn] ?? { content: 'done' };
    if (turn === at && !stalledOnce) {
      stalledOnce = true;
      signal();
      return { ...next, until: new Promise(() => undefined) }; // answered never: the worker goes first
    }
    return next;
  };
  return { script, stalled };
}

/** Indexes of requests whose messages the model had already answered before: none may exist. */
function askedTwice(m: ScriptedModel): number[] {
  const answered = new Set<string>();
  const repeats: number[] = [];
  m.requests.forEach((request, i) => {
    const key = JSON.stringify((request.body as { messages: unknown }).messages);
    if (answered.has(key)) repeats.push(i);
    if (m.answered.has(i)) answered.add(key);
  });
  return repeats;
}

const refsOf = async (harness: Harness) =>
  (
    await git([
      '--git-dir',
      join(harness.dir, 'remote', `${REPO}.git`),
      'for-each-ref',
      '--format=%(refname)',
    ])
  )
    .split('\n')
    .filter(Boolean);

describe('workers in their own processes', () => {
  it('resumes a task on another worker after its worker is killed with SIGKILL: its kept work, no request asked again', async () => {
    // Killed while the model thinks about its fourth turn: the edit and the test run are done.
    const { script, stalled } = stallOnce(3);
    h = await startHarness({ script, worker: false });
    const child = spawnWorker(h.workerProcessEnv);
    const created = await h.createTask({ instruction: 'fix greet' });
    await stalled;
    const keptWhileRunning = await refsOf(h);

    child.kill('SIGKILL');
    await exited(child);
    await h.startWorker();
    const task = await h.waitFor(created.body.id, isFinal, 60_000);

    expect(task.status).toBe('succeeded');
    expect(task.attempts).toBe(2);
    expect(keptWhileRunning).toContain(`refs/patchbay/work/${created.body.id}`);
    expect(askedTwice(h.model)).toEqual([]);
    expect(h.model.requests).toHaveLength(FIX_GREETING.length + 1);
    // Spend counted across attempts: the four answered requests, the stalled one never answered.
    expect(task.usage.promptTokens).toBe(FIX_GREETING.length * 1_000);
    // The test run of the stored turn ran again; nothing before it did.
    expect(task.steps).toBe(FIX_GREETING.length);
    expect(await h.git.readFile(REPO, task.branch ?? '', 'src/greet.js')).toContain('`Hello, ${name}`');
    expect(h.github.pulls).toHaveLength(1);
    expect(await refsOf(h)).not.toContain(`refs/patchbay/work/${created.body.id}`);
  });

  it('puts the running task back on SIGTERM within the grace period, and another worker finishes it', async () => {
    const { script, stalled } = stallOnce();
    h = await startHarness({ script, worker: false });
    const child = spawnWorker(h.workerProcessEnv);
    const created = await h.createTask({ instruction: 'fix greet' });
    await stalled;

    child.kill('SIGTERM');
    const code = await exited(child);
    const requeued = await h.getTask(created.body.id);
    await h.startWorker();
    const task = await h.waitFor(created.body.id, isFinal, 60_000);

    expect(code).toBe(0);
    // Its own grace period ran out otherwise, and it said so before closing anyway.
    expect(child.logLines.join('\n')).not.toContain('tasks did not stop in time');
    expect(child.logLines.join('\n')).toContain('task interrupted, back to the queue');
    expect(requeued.status).toBe('queued');
    expect(task.status).toBe('succeeded');
    expect(h.github.pulls).toHaveLength(1);
  });

  it('cancels a task that runs in another process', async () => {
    // The command would outlast the test: the task can end only if the cancel reaches the worker.
    const command = 'sleep 600.402';
    h = await startHarness({ script: [{ tool: 'bash', args: { command, timeout_s: 900 } }], worker: false });
    const child = spawnWorker(h.workerProcessEnv);
    const created = await h.createTask({ instruction: 'wait' });
    await processStarted('600.402'); // running in the other process's sandbox

    await h.post(`/api/tasks/${created.body.id}/cancel`, {});
    const task = await h.waitFor(created.body.id, isFinal);

    expect(task.status).toBe('cancelled');
    expect(await waitUntilGone('600.402')).toBe(true);
    expect(child.exitCode).toBeNull();
  });
});
