import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { maxWritesPerWindow } from '../../src/demo/github-write-pace-stand-in.js';
import type { ScriptedRequest } from '../../src/demo/scripted-model.js';
import { type Harness, isFinal, startHarness } from '../fakes/harness.js';
import { FIX_GREETING } from '../fakes/scripts.js';
import { spawnWorker } from '../fakes/worker-process.js';

let h: Harness | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await h?.close();
  h = undefined;
});

/** Each task's conversation gets FIX_GREETING by its own turn count, so tasks may run side by side. */
const byTurn = (req: ScriptedRequest) => {
  const turn = req.messages.filter((m) => (m as { role: string }).role === 'assistant').length;
  return FIX_GREETING[turn] ?? { content: 'done' };
};

describe('one GitHub write pace for every worker process', () => {
  it('keeps one installation’s writes a pace apart across two worker processes: no write refused, every PR opened', async () => {
    h = await startHarness({ script: byTurn, worker: false, githubAuth: 'app', githubWritePaceMs: 1_000 });
    for (let i = 0; i < 2; i++) {
      children.push(spawnWorker({ ...h.workerProcessEnv, PATCHBAY_CONCURRENCY: '2' }));
    }
    const created = await Promise.all(
      [0, 1, 2, 3].map((i) => h?.createTask({ instruction: `fix greet ${i}` })),
    );

    const tasks = await Promise.all(created.map((c) => h?.waitFor(c?.body.id ?? '', isFinal, 120_000)));

    expect(tasks.map((t) => t?.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(h.github.pulls).toHaveLength(4);
    const writes = h.github.writes.filter((w) => w.key.startsWith('installation:'));
    expect(writes.length).toBeGreaterThanOrEqual(4);
    expect(writes.filter((w) => w.refused)).toEqual([]);
    expect(maxWritesPerWindow(writes, 1_000)).toBe(1);
    // Both processes took part (each logs its own task starts).
    expect(
      children.every((c) =>
        (c as ChildProcess & { logLines: string[] }).logLines.some((l) => l.includes('"taskId"')),
      ),
    ).toBe(true);
  });
});
