import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { Script, ScriptedRequest } from '../../src/demo/scripted-model.js';
import { type Harness, isFinal, startHarness } from '../fakes/harness.js';
import { FIX_GREETING } from '../fakes/scripts.js';

let h: Harness | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await h?.close();
  h = undefined;
});

/** `patchbay worker` in a process of its own, as production runs it. */
function spawnWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), 'src/cli.ts', 'worker'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  return child;
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

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
      return { ...next, delayMs: 20_000 };
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

    const asked = Date.now();
    child.kill('SIGTERM');
    const code = await exited(child);
    const stoppedIn = Date.now() - asked;
    const requeued = await h.getTask(created.body.id);
    await h.startWorker();
    const task = await h.waitFor(created.body.id, isFinal, 60_000);

    expect(code).toBe(0);
    expect(stoppedIn).toBeLessThan(10_000);
    expect(requeued.status).toBe('queued');
    expect(task.status).toBe('succeeded');
    expect(h.github.pulls).toHaveLength(1);
  });

  it('cancels a task that runs in another process', async () => {
    h = await startHarness({ script: [{ tool: 'bash', args: { command: 'sleep 60' } }], worker: false });
    const child = spawnWorker(h.workerProcessEnv);
    const created = await h.createTask({ instruction: 'wait' });
    const harness = h;
    await h.waitFor(
      created.body.id,
      (t) => t.status === 'running' && harness.model.requests.length === 1,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 500));

    const asked = Date.now();
    await h.post(`/api/tasks/${created.body.id}/cancel`, {});
    const task = await h.waitFor(created.body.id, isFinal, 20_000);

    expect(task.status).toBe('cancelled');
    expect(Date.now() - asked).toBeLessThan(15_000);
    expect(child.exitCode).toBeNull();
  });
});
