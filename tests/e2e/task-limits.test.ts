import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileConfig } from '../../src/config/file-schema.js';
import { buildConfig, parseEnv } from '../../src/config/load-config.js';
import type { ScriptedRequest, ScriptedTurn } from '../../src/demo/scripted-model.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { startPatchbay } from '../../src/main.js';
import { type Harness, isFinal, logged, REPO } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';
import { processStarted, waitUntilGone } from '../fakes/host-processes.js';
import { REDIS_URL } from '../fakes/redis.js';
import { cgroupsOf, pidsWith } from '../fakes/task-cgroups.js';

const start = harnessPerTest();

/** Small on purpose (MiB): whatever a task does, the machine keeps its memory, processes and disk. */
const SMALL = { memory_mb: 256, processes: 64, disk_mb: 200, tmp_mb: 64 };
/** Two processes of 200 MiB each: together past a 256 MiB limit, each under it. */
const HOLD = `perl -e 'my $n = 200 << 20; my $x = "a" x $n; sleep 600'`;
const MEMORY_HOG = `${HOLD} & ${HOLD} & wait`;
const MEMORY_KILLED = "killed: the task's memory limit of 256 MiB was reached";

/**
 * A fork bomb whose shell stays: it ends only when something stops it (with `wait` instead, the
 * shell can exit, taking the whole sandbox with it, before the bomb reached the limit).
 */
const BOMB = ':(){ :|:& };:; sleep 60';
const bash = (command: string): ScriptedTurn => ({ tool: 'bash', args: { command, timeout_s: 120 } });
const finish = (title: string): ScriptedTurn => ({ tool: 'finish', args: { title, summary: `${title}.` } });
const writeFile = (path: string): ScriptedTurn => ({ tool: 'write_file', args: { path, content: 'x\n' } });

/** The task a scripted request belongs to, by a word of its instruction (the first user message). */
function taskOf(req: ScriptedRequest): string {
  const first = req.messages.find((m) => (m as { role: string }).role === 'user') as { content?: unknown };
  return JSON.stringify(first?.content ?? '');
}

/** What each bash call of a task returned to the model, read from the model's requests. */
function toolResults(h: Harness, word: string): string[] {
  const last = [...h.model.requests].reverse().find((r) => taskOf(r.body as ScriptedRequest).includes(word))
    ?.body as ScriptedRequest | undefined;
  return (last?.messages ?? [])
    .filter((m) => (m as { role: string }).role === 'tool')
    .map((m) => String((m as { content: unknown }).content));
}

/** Resolves once `test()` holds; a promise the scripted model can hold an answer on. */
function gate(): { open(): void; opened: Promise<void> } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('task limits through the worker', () => {
  it('bounds a fork bomb by the process limit while a second task on the same worker finishes, and stays healthy', async () => {
    const bStarted = gate();
    const bombTold = gate();
    const script = (req: ScriptedRequest, _turn: number): ScriptedTurn => {
      const task = taskOf(req);
      const turn = req.messages.filter((m) => (m as { role: string }).role === 'assistant').length;
      if (task.includes('bomb')) {
        if (turn === 0) return { ...bash(BOMB), until: bStarted.opened };
        bombTold.open();
        return finish('Gave up on the bomb');
      }
      if (task.includes('count')) {
        if (turn === 0) {
          bStarted.open();
          return bash('echo one');
        }
        // B's next command waits until A's bomb was stopped and told: B's task spans it.
        if (turn === 1) return { ...bash('echo two'), until: bombTold.opened };
        if (turn === 2) return writeFile('COUNTED.md');
        return finish('Counted');
      }
      if (turn === 0) return writeFile('AFTER.md');
      return finish('After the bomb');
    };
    const h = await start(script, { file: { limits: SMALL }, env: { PATCHBAY_CONCURRENCY: '2' } });

    const a = await h.createTask({ instruction: 'run the bomb' });
    const b = await h.createTask({ instruction: 'count to two' });
    const [bombed, counted] = await Promise.all([
      h.waitFor(a.body.id, isFinal),
      h.waitFor(b.body.id, isFinal),
    ]);
    const after = await h.createTask({ instruction: 'something after' });
    const third = await h.waitFor(after.body.id, isFinal);
    const health = await fetch(`${h.base}/healthz`);

    expect(toolResults(h, 'bomb')[0]).toMatch(
      /^killed: the task's process limit of 64 was reached\nexit code: none/,
    );
    expect(bombed.status).toBe('succeeded');
    expect(counted).toMatchObject({ status: 'succeeded', pullRequest: expect.anything() });
    expect(toolResults(h, 'count').slice(0, 2)).toEqual(['exit code: 0\none\n', 'exit code: 0\ntwo\n']);
    expect(third).toMatchObject({ status: 'succeeded', pullRequest: expect.anything() });
    expect(health.status).toBe(200);
  });

  it("tells the agent a command was killed for memory, by the repository's own limit, and shows the peaks in the PR", async () => {
    const h = await start([bash(MEMORY_HOG), writeFile('NOTES.md'), finish('Smaller steps')], {
      file: { repositories: [{ name: REPO, check: ['node test.js'], limits: SMALL }] },
    });

    const created = await h.createTask({ instruction: 'use memory' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(toolResults(h, 'use memory')[0]).toMatch(new RegExp(`^${MEMORY_KILLED}\\nexit code: none`));
    expect(task.status).toBe('succeeded');
    const body = h.github.pulls[0]?.body ?? '';
    expect(body).toMatch(/peak memory \d+(\.\d)? MiB of 256 MiB, peak disk [\d.]+ \w+ of 200 MiB/);
    const finished = h.events.find((e) => e.type === 'finished' && e.task.id === created.body.id);
    expect(finished?.type === 'finished' && finished.resources).toMatchObject({
      memoryLimitBytes: 256 * 1024 * 1024,
      limitHits: { memory: 1 },
    });
  });

  it('fails a task that keeps hitting a limit with that reason, told once, with the hint to raise it', async () => {
    const h = await start([bash(MEMORY_HOG), bash(MEMORY_HOG), bash(MEMORY_HOG), finish('Unreached')], {
      file: { limits: SMALL },
    });

    const created = await h.createTask({ instruction: 'keep using memory' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(task.status).toBe('failed');
    expect(task.error?.code).toBe('limit_exceeded');
    expect(task.error?.message).toContain("the task's memory limit of 256 MiB stopped 3 of its commands");
    expect(task.error?.hint).toContain('raise limits.memory_mb in patchbay.yml');
    const failed = h.events.filter((e) => e.type === 'failed' && e.task.id === created.body.id);
    expect(failed).toHaveLength(1);
    expect(failed[0]?.type === 'failed' && failed[0].resources?.limitHits).toEqual({ memory: 3 });
    expect(h.model.requests).toHaveLength(3);
  });

  it('fails a task whose setup is stopped by a limit, saying which', async () => {
    const h = await start([finish('Unreached')], {
      file: { limits: SMALL, repositories: [{ name: REPO, setup: [MEMORY_HOG] }] },
    });

    const created = await h.createTask({ instruction: 'set up heavily' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(task.status).toBe('failed');
    expect(task.error).toMatchObject({
      code: 'limit_exceeded',
      message: expect.stringContaining(`was stopped: ${MEMORY_KILLED}`),
      hint: expect.stringContaining('limits.memory_mb'),
    });
    expect(h.model.requests).toHaveLength(0);
  });

  it('kills every process of a cancelled task and removes its cgroup', async () => {
    const marker = '600.931';
    const h = await start([bash(`sleep ${marker} & setsid sleep ${marker} & sleep ${marker}`)], {
      file: { limits: SMALL },
    });
    const created = await h.createTask({ instruction: 'wait a while' });
    await processStarted(marker);
    const groups = pidsWith(marker).flatMap((pid) =>
      [...cgroupsOf(pid).values()].filter((p) => p.includes('patchbay-tasks')),
    );

    await h.post(`/api/tasks/${created.body.id}/cancel`, {});
    const task = await h.waitFor(created.body.id, isFinal);

    expect(task.status).toBe('cancelled');
    expect(await waitUntilGone(marker)).toBe(true);
    expect(groups.length).toBeGreaterThan(0);
    for (const group of new Set(groups)) expect(await groupExists(group)).toBe(false);
    expect(await readdir(join(h.dir, 'data', 'tasks')).catch(() => [])).toEqual([]);
  });

  it('without cgroups, still kills a command past the memory limit and says so', async () => {
    const h = await start([bash(MEMORY_HOG), finish('Nothing')], { file: { limits: SMALL }, cgroups: 'off' });

    const created = await h.createTask({ instruction: 'use memory without cgroups' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(toolResults(h, 'without cgroups')[0]).toMatch(new RegExp(`^${MEMORY_KILLED}\\nexit code: none`));
    expect(task.status).toBe('succeeded');
    expect(String(logged(h, 'task limits')[0]?.limits)).toMatch(
      /enforced by no cgroups \(cgroups turned off\)/,
    );
  });
});

describe('starting a worker', () => {
  it('says in one line which limits hold and how', async () => {
    const h = await start([finish('Nothing')], { file: { limits: SMALL } });

    const lines = logged(h, 'task limits');

    expect(lines).toHaveLength(1);
    expect(String(lines[0]?.limits)).toMatch(
      /^per task: memory 256 MiB, 64 processes, disk 200 MiB, \/tmp 64 MiB, CPU weight 100; enforced by (cgroup v[12]|no cgroups)/,
    );
  });

  it('refuses to start without cgroups when PATCHBAY_REQUIRE_LIMITS=1', async () => {
    const env = parseEnv({
      REDIS_URL,
      PATCHBAY_REQUIRE_LIMITS: '1',
      OPENAI_API_KEY: 'sk-x',
      GITHUB_TOKEN: 't',
    });
    const config = buildConfig(env, FileConfig.parse({ repositories: [{ name: REPO }] }));

    const started = startPatchbay({
      config,
      log: createSilentLogger(),
      server: false,
      worker: true,
      cgroups: 'off',
    });

    await expect(started).rejects.toMatchObject({
      code: 'sandbox_unavailable',
      message: expect.stringContaining('PATCHBAY_REQUIRE_LIMITS=1 but there are no cgroups to use'),
    });
  });
});

/** Whether a cgroup path as /proc/<pid>/cgroup shows it still exists in any mounted hierarchy. */
async function groupExists(cgroupPath: string): Promise<boolean> {
  for (const root of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
    const base = join('/sys/fs/cgroup', root);
    const own = await readdir(join(base, cgroupPath)).then(
      () => true,
      () => false,
    );
    if (own) return true;
  }
  return readdir(join('/sys/fs/cgroup', cgroupPath)).then(
    () => true,
    () => false,
  );
}
