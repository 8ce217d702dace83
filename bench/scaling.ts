/**
 * How Patchbay's throughput grows with worker processes, and what many tasks at once cost, on this
 * machine, printed as tables. Real Redis, git over HTTP, bubblewrap and `patchbay worker` processes;
 * the model is a stand-in that answers each call after 1 s, and the GitHub stand-in enforces one
 * content-creating write per second per App installation (a closer write is refused with a 403
 * secondary rate limit, as GitHub does).
 * 1. Worker scaling: 64 tasks on 1, 2 and 4 worker processes of the same concurrency: tasks per
 *    minute, the most writes GitHub saw within any second, and writes refused. One worker is the
 *    baseline of the ratio.
 * 2. 16 tasks at once in one worker process (concurrency 16): peak memory of the process and of its
 *    whole process tree (git, bubblewrap and the commands in the sandboxes), and tasks lost.
 * Run with `npx tsx bench/scaling.ts` (TASKS=64 CONCURRENCY=4 WORKERS=1,2,4 to change the runs).
 */
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { maxWritesPerWindow } from '../src/demo/github-write-pace-stand-in.js';
import type { ScriptedRequest, ScriptedTurn } from '../src/demo/scripted-model.js';
import { type Harness, isFinal, startHarness } from '../tests/fakes/harness.js';
import { FIX_GREETING } from '../tests/fakes/scripts.js';
import { spawnWorker } from '../tests/fakes/worker-process.js';

const TASKS = Number(process.env.TASKS ?? 64);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 4);
const WORKERS = (process.env.WORKERS ?? '1,2,4').split(',').map(Number);
const AT_ONCE = Number(process.env.AT_ONCE ?? 16);
const MODEL_DELAY_MS = 1_000;
const PACE_MS = 1_000;

/** Each task's conversation plays FIX_GREETING by its own turn count; every answer takes a second. */
const slowModel = (req: ScriptedRequest): ScriptedTurn => {
  const turn = req.messages.filter((m) => (m as { role: string }).role === 'assistant').length;
  return { ...(FIX_GREETING[turn] ?? { content: 'done' }), delayMs: MODEL_DELAY_MS };
};

interface Run {
  h: Harness;
  workers: ChildProcess[];
}

async function startRun(workers: number, concurrency: number): Promise<Run> {
  const h = await startHarness({
    script: slowModel,
    worker: false,
    githubAuth: 'app',
    githubWritePaceMs: PACE_MS,
    retry: { attempts: 3, backoffMs: 1_000 },
  });
  const env = { ...h.workerProcessEnv, PATCHBAY_CONCURRENCY: String(concurrency), LOG_LEVEL: 'warn' };
  const children = Array.from({ length: workers }, () => spawnWorker(env));
  await Promise.all(children.map((c) => waitForLine(c, 'worker started')));
  return { h, workers: children };
}

async function stopRun(run: Run): Promise<void> {
  for (const child of run.workers) child.kill('SIGKILL');
  await run.h.close();
}

function waitForLine(child: ChildProcess & { logLines?: string[] }, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (child.logLines?.some((l) => l.includes(text))) return resolve();
      if (child.exitCode !== null) return reject(new Error(`worker exited before "${text}"`));
      setTimeout(check, 50);
    };
    check();
  });
}

/** Submits `count` tasks at once and waits for all of them to end; returns them and the time taken. */
async function runTasks(h: Harness, count: number) {
  const started = performance.now();
  const created = await Promise.all(
    Array.from({ length: count }, (_, i) => h.createTask({ instruction: `fix greet ${i}` })),
  );
  const tasks = await Promise.all(created.map((c) => h.waitFor(c.body.id, isFinal, 30 * 60_000)));
  return { tasks, seconds: (performance.now() - started) / 1000 };
}

async function scalingRow(workers: number, baseline?: number): Promise<{ row: string[]; perMinute: number }> {
  const run = await startRun(workers, CONCURRENCY);
  try {
    const { tasks, seconds } = await runTasks(run.h, TASKS);
    const writes = run.h.github.writes.filter((w) => w.key.startsWith('installation:'));
    const perMinute = (tasks.filter((t) => t.status === 'succeeded').length / seconds) * 60;
    const row = [
      `${workers} × ${CONCURRENCY}`,
      `${tasks.filter((t) => t.status === 'succeeded').length}/${TASKS}`,
      `${seconds.toFixed(1)} s`,
      perMinute.toFixed(1),
      baseline ? `${(perMinute / baseline).toFixed(2)}×` : '1.00× (baseline)',
      String(writes.filter((w) => !w.refused).length),
      String(maxWritesPerWindow(writes, 1_000)),
      String(writes.filter((w) => w.refused).length),
    ];
    return { row, perMinute };
  } finally {
    await stopRun(run);
  }
}

/** RSS (bytes) of `pid` and of its whole process tree, from /proc. */
async function treeRss(pid: number): Promise<{ own: number; tree: number }> {
  const parents = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state, ppid, … rss is field 24.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(name), Number(fields[1]));
      rss.set(Number(name), Number(fields[21]) * 4096);
    } catch {
      // The process ended while being read.
    }
  }
  const inTree = (p: number): boolean => p === pid || (p > 1 && inTree(parents.get(p) ?? 0));
  let tree = 0;
  for (const [p, bytes] of rss) if (inTree(p)) tree += bytes;
  return { own: rss.get(pid) ?? 0, tree };
}

/** Samples the tree every 200 ms until `done` settles; returns the peaks. */
async function peakWhile(pid: number, done: Promise<unknown>) {
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  const peak = { own: 0, tree: 0 };
  while (!finished) {
    const now = await treeRss(pid);
    peak.own = Math.max(peak.own, now.own);
    peak.tree = Math.max(peak.tree, now.tree);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return peak;
}

async function atOnceRow(): Promise<string[]> {
  const run = await startRun(1, AT_ONCE);
  try {
    const pid = run.workers[0]?.pid ?? 0;
    const idle = await treeRss(pid);
    const work = runTasks(run.h, AT_ONCE);
    const peak = await peakWhile(pid, work);
    const { tasks, seconds } = await work;
    const succeeded = tasks.filter((t) => t.status === 'succeeded').length;
    const pulls = run.h.github.pulls.length;
    return [
      `${AT_ONCE} at once, 1 × ${AT_ONCE}`,
      `${seconds.toFixed(1)} s`,
      mb(idle.own),
      mb(peak.own),
      mb(peak.tree),
      `${succeeded}/${AT_ONCE} succeeded, ${pulls} PRs, ${AT_ONCE - succeeded} lost`,
    ];
  } finally {
    await stopRun(run);
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const table = (head: string[], rows: string[][]) =>
  [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');

async function main(): Promise<void> {
  const rows: string[][] = [];
  let baseline: number | undefined;
  for (const workers of WORKERS) {
    const { row, perMinute } = await scalingRow(workers, baseline);
    baseline ??= perMinute;
    rows.push(row);
    process.stderr.write(`scaling: ${workers} worker(s) done\n`);
  }
  const head = ['workers × concurrency', 'succeeded', 'wall time', 'tasks/min', 'vs 1 worker'];
  const writesHead = ['GitHub writes', 'max writes in any 1 s', 'writes refused'];
  process.stdout.write(
    `Worker scaling: ${TASKS} tasks, model answers after ${MODEL_DELAY_MS / 1000} s per call, GitHub enforcing one write per ${PACE_MS / 1000} s per installation:\n\n`,
  );
  process.stdout.write(`${table([...head, ...writesHead], rows)}\n\n`);
  const memory = await atOnceRow();
  process.stdout.write(`${AT_ONCE} tasks at once in one worker process:\n\n`);
  const memHead = [
    'run',
    'wall time',
    'worker RSS idle',
    'worker RSS peak',
    'process tree RSS peak',
    'outcome',
  ];
  process.stdout.write(`${table(memHead, [memory])}\n`);
}

await main();
