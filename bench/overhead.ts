/**
 * What a task costs besides the model and the agent's own commands, through the real server, queue,
 * worker, git over HTTP and PR stand-in: the model stand-in answers at once and the agent runs no
 * command. Also measures queue-to-start latency with an idle worker. Run with `npx tsx bench/overhead.ts`.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createSilentLogger } from '../src/lib/logger.js';
import { createConversationLock } from '../src/queue/conversation-lock.js';
import { createRedisCancelBus } from '../src/queue/redis-cancel-bus.js';
import { createTaskQueue } from '../src/queue/task-queue.js';
import { createTaskWorker } from '../src/queue/task-worker.js';
import { isFinal, startHarness } from '../tests/fakes/harness.js';
import { REDIS_URL } from '../tests/fakes/redis.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)] ?? Number.NaN;

async function main(): Promise<void> {
  let n = 0;
  const h = await startHarness({
    script: (_req, turn) =>
      turn % 2 === 0
        ? { tool: 'write_file', args: { path: `notes/${n++}.md`, content: 'benchmark\n' } }
        : { tool: 'finish', args: { title: 'Benchmark change', summary: 'A one-file change.' } },
    file: { repositories: [{ name: 'acme/web' }] },
  });
  const rows: Record<string, number[]> = {
    queue: [],
    clone: [],
    agent: [],
    commit: [],
    push: [],
    pr: [],
    publish: [],
    total: [],
    overhead: [],
  };
  try {
    for (let i = 0; i < RUNS; i++) {
      const stamps = new Map<string, number>();
      const seen = h.events.length;
      const t0 = Date.now();
      const created = await h.createTask({ instruction: `benchmark run ${i}`, conversation: `bench-${i}` });
      await h.waitFor(created.body.id, isFinal, 60_000);
      const total = Date.now() - t0;
      for (const e of h.events.slice(seen)) {
        const key = e.type === 'stage' || e.type === 'started' ? e.stage : e.type;
        if (!stamps.has(key)) stamps.set(key, e.at);
      }
      const at = (k: string) => stamps.get(k) ?? Number.NaN;
      rows.queue?.push(at('clone') - t0);
      rows.clone?.push(at('agent') - at('clone'));
      rows.agent?.push(at('checks') - at('agent'));
      rows.publish?.push(at('finished') - at('pull_request'));
      const logged = (msg: string) => logTime(h.logLines, created.body.id, msg, t0);
      rows.commit?.push(logged('committed changes') - at('pull_request'));
      rows.push?.push(logged('pushed branch') - logged('committed changes'));
      rows.pr?.push(logged('published pull request') - logged('pushed branch'));
      // GitHub asks for ~3 s between content-creating requests; Octokit's throttling spaces PRs so.
      await new Promise((r) => setTimeout(r, 3_000));
      rows.total?.push(total);
      rows.overhead?.push(total - (at('checks') - at('agent')));
    }
  } finally {
    await h.close();
  }
  console.log(`\n| ${RUNS} tasks, each a one-file change | median ms | p90 ms |\n| --- | ---: | ---: |`);
  const labels: Record<string, string> = {
    queue: 'POST /api/tasks → worker started (queue to start)',
    clone: 'mirror fetch + clone + branch',
    agent: 'agent (stand-in model, 2 turns, no command)',
    commit: '  commit (host, hooks off)',
    push: '  push over HTTP with the token',
    pr: '  open the PR (REST)',
    publish: 'commit + push + open PR',
    total: 'total',
    overhead: 'everything but the agent',
  };
  for (const [key, values] of Object.entries(rows)) {
    console.log(`| ${labels[key]} | ${median(values).toFixed(0)} | ${p90(values).toFixed(0)} |`);
  }
  const pickup = await measurePickup(100);
  console.log(
    `| queue alone: enqueue → idle worker's handler (100 jobs) | ${median(pickup).toFixed(1)} | ${p90(pickup).toFixed(1)} |`,
  );
}

/** Queue alone: from `enqueue` returning to the worker's handler starting, with an idle worker. */
async function measurePickup(runs: number): Promise<number[]> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const name = `pbbench-${randomBytes(4).toString('hex')}`;
  const prefix = `pbbench:${randomBytes(4).toString('hex')}:`;
  const log = createSilentLogger();
  const queue = createTaskQueue({ connection: redis, name });
  let started: (() => void) | undefined;
  const worker = createTaskWorker({
    connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
    name,
    concurrency: 2,
    lockMs: 30_000,
    locks: createConversationLock({ redis, prefix, ttlMs: 30_000, log }),
    cancels: createRedisCancelBus({ redis, prefix }),
    handle: async () => started?.(),
    onGiveUp: async () => undefined,
    log,
  });
  worker.start();
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      await new Promise((r) => setTimeout(r, 50)); // idle between tasks
      const picked = new Promise<void>((resolve) => {
        started = resolve;
      });
      const t0 = performance.now();
      await queue.enqueue({ id: `b${i}`, conversation: `bench-${i}` }, 1);
      await picked;
      times.push(performance.now() - t0);
    }
  } finally {
    await worker.stop();
    await queue.queue.obliterate({ force: true });
    await queue.close();
    redis.disconnect();
  }
  return times;
}

/** When a log line with `msg` was written, at or after `since`. */
function logTime(lines: string[], _taskId: string, msg: string, since: number): number {
  for (const line of lines) {
    const entry = JSON.parse(line) as { msg?: string; time?: number };
    if (entry.msg === msg && (entry.time ?? 0) >= since) return entry.time ?? Number.NaN;
  }
  return Number.NaN;
}

await main();
