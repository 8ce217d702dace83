import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { Script, ScriptedRequest } from '../../src/demo/scripted-model.js';
import { type Harness, isFinal, startHarness } from '../fakes/harness.js';
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

/** Plays FIX_GREETING by the run's own turn count, stalling once on its second turn. */
function stallOnce(): { script: Script; stalled: Promise<void> } {
  let stalledOnce = false;
  let signal: () => void = () => undefined;
  const stalled = new Promise<void>((resolve) => {
    signal = resolve;
  });
  const script = (req: ScriptedRequest) => {
    const turn = req.messages.filter((m) => (m as { role: string }).role === 'assistant').length;
    const next = FIX_GREETING[turn] ?? { content: 'done' };
    if (turn === 1 && !stalledOnce) {
      stalledOnce = true;
      signal();
      return { ...next, until: new Promise(() => undefined) }; // answered never: the worker goes first
    }
    return next;
  };
  return { script, stalled };
}

describe('workers in their own processes', () => {
  it('finishes a task on another worker after its worker is killed with SIGKILL, spend counted across attempts', async () => {
    const { script, stalled } = stallOnce();
    h = await startHarness({ script, worker: false });
    const child = spawnWorker(h.workerProcessEnv);
    const created = await h.createTask({ instruction: 'fix greet' });
    await stalled;

    child.kill('SIGKILL');
    await exited(child);
    await h.startWorker();
    const task = await h.waitFor(created.body.id, isFinal, 60_000);

    expect(task.status).toBe('succeeded');
    expect(task.attempts).toBe(2);
    expect(task.steps).toBe(1 + FIX_GREETING.length);
    expect(task.usage.promptTokens).toBe((1 + FIX_GREETING.length) * 1_000);
    expect(h.github.pulls).toHaveLength(1);
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
