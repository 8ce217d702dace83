/**
 * How fast the pages are, against baselines measured in the same run:
 *
 * 1. An event reaching an open page: a process that stands for the worker appends timeline entries;
 *    Patchbay's server (another process: this one) streams them to a page's EventSource (read here
 *    as the browser would, over HTTP); the time from append to arrival. Baseline: Redis PUBLISH to a
 *    subscriber across the same two processes.
 * 2. The page of a 500-step task: the server's answer, and in Debian's chromium the time until its
 *    first screen is painted. Baseline: `GET /healthz`.
 * 3. The dashboard with 10,000 tasks in Redis: `GET /tasks`. Baseline: `GET /api/tasks/:id`.
 *
 * Run with `npx tsx bench/pages.ts` (REDIS_URL; chromium on PATH for the browser row).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { chromium } from 'playwright-core';
import { FileConfig } from '../src/config/file-schema.js';
import { buildConfig, parseEnv } from '../src/config/load-config.js';
import { newTaskRecord, type TaskRecord } from '../src/domain/task.js';
import type { TimelineEntry } from '../src/domain/timeline.js';
import { createSilentLogger } from '../src/lib/logger.js';
import { startPatchbay } from '../src/main.js';
import { createRedisTaskDiffs } from '../src/queue/redis-task-diffs.js';
import { createRedisTaskStore } from '../src/queue/redis-task-store.js';
import { createRedisTaskTimeline } from '../src/queue/redis-task-timeline.js';
import { REDIS_URL } from '../tests/fakes/redis.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 300);
const DASHBOARD_TASKS = Number(process.env.BENCH_TASKS ?? 10_000);
const log = createSilentLogger();
const prefix = `pbbench:${randomBytes(4).toString('hex')}:`;
const token = randomBytes(16).toString('hex');
const auth = { authorization: `Bearer ${token}` };

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)] ?? Number.NaN;
const row = (label: string, xs: number[], goal = '') =>
  console.log(
    `| ${label} | ${xs.length} | ${pct(xs, 0.5).toFixed(1)} | ${pct(xs, 0.95).toFixed(1)} | ${goal} |`,
  );

const aTask = (id: string, minutesAgo: number): TaskRecord => ({
  ...newTaskRecord(
    id,
    {
      repo: 'acme/web',
      instruction: `fix issue ${id}`,
      conversation: `api:${id}`,
      origin: { source: 'api', label: 'bench' },
    },
    new Date(Date.now() - minutesAgo * 60_000),
  ),
  status: 'succeeded',
  steps: 12,
});

/** A child Node process that stands for the worker: appends `EVENTS` entries, one every 20 ms. */
function startAppender(taskId: string): ChildProcess {
  const script = `
    import { createRedisTaskTimeline } from './src/queue/redis-task-timeline.js';
    import { createSilentLogger } from './src/lib/logger.js';
    import { Redis } from 'ioredis';
    const redis = new Redis(${JSON.stringify(REDIS_URL)});
    const timeline = createRedisTaskTimeline({ redis, prefix: ${JSON.stringify(prefix)}, retentionDays: 1, capBytes: 2 ** 21, log: createSilentLogger() });
    for (let i = 0; i < ${EVENTS}; i++) {
      await new Promise((r) => setTimeout(r, 20));
      await timeline.append(${JSON.stringify(taskId)}, { type: 'note', at: new Date().toISOString(), text: String(performance.timeOrigin + performance.now()) });
      await redis.publish(${JSON.stringify(`${prefix}bench`)}, String(performance.timeOrigin + performance.now()));
    }
    await timeline.close(); redis.disconnect();`;
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

async function eventLatency(base: string): Promise<{ page: number[]; pubsub: number[] }> {
  const taskId = 'tbenchlive';
  const store = createRedisTaskStore({ redis: new Redis(REDIS_URL), prefix, retentionDays: 1 });
  await store.create(aTask(taskId, 0), []);
  const page: number[] = [];
  const pubsub: number[] = [];
  const subscriber = new Redis(REDIS_URL);
  await subscriber.subscribe(`${prefix}bench`);
  subscriber.on('message', (_c, sent) =>
    pubsub.push(performance.timeOrigin + performance.now() - Number(sent)),
  );
  const res = await fetch(`${base}/api/tasks/${taskId}/events`, {
    headers: { ...auth, accept: 'text/event-stream' },
  });
  const reader = res.body?.getReader();
  const appender = startAppender(taskId);
  let buffer = '';
  while (reader && page.length < EVENTS) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += Buffer.from(value).toString('utf8');
    const events = buffer.split('\n\n');
    buffer = events.pop() ?? '';
    for (const event of events) {
      const data = /^data: (.*)$/m.exec(event)?.[1];
      if (!data) continue;
      const entry = (JSON.parse(data) as { entry: TimelineEntry }).entry;
      if (entry.type === 'note') page.push(performance.timeOrigin + performance.now() - Number(entry.text));
    }
  }
  await reader?.cancel();
  await new Promise((r) => appender.once('exit', r));
  subscriber.disconnect();
  await store.close();
  return { page, pubsub };
}

/** A task of 500 steps, each a model turn and a tool call with a few KB of output, and its diff. */
async function fiveHundredSteps(): Promise<string> {
  const redis = new Redis(REDIS_URL);
  const store = createRedisTaskStore({ redis, prefix, retentionDays: 1 });
  const timeline = createRedisTaskTimeline({ redis, prefix, retentionDays: 1, capBytes: 2 ** 21, log });
  const taskId = 'tbench500';
  await store.create({ ...aTask(taskId, 30), steps: 500 }, []);
  const at = new Date().toISOString();
  const output = `${'PASS src/module.test.ts\n'.repeat(60)}Tests: 123 passed\n`;
  for (let step = 1; step <= 500; step++) {
    await timeline.append(taskId, {
      type: 'model_turn',
      at,
      run: 1,
      attempt: 1,
      turn: step,
      model: 'bench',
      text: `Step ${step}: looking at the failing test next.`,
      toolCalls: 1,
      promptTokens: 12_000,
      cachedTokens: 10_000,
      completionTokens: 300,
      usd: 0.01,
      durationMs: 900,
    });
    await timeline.append(taskId, {
      type: 'tool_call',
      at,
      run: 1,
      attempt: 1,
      step,
      tool: 'bash',
      args: JSON.stringify({ command: `npm test -- --grep case${step}` }),
      detail: `bash: npm test -- --grep case${step}`,
      output,
      outputBytes: output.length,
      failed: false,
      durationMs: 1_200,
    });
  }
  const patch = Array.from(
    { length: 20 },
    (_, i) =>
      `diff --git a/src/f${i}.ts b/src/f${i}.ts\n--- a/src/f${i}.ts\n+++ b/src/f${i}.ts\n@@ -1,3 +1,3 @@\n-old ${i}\n+new ${i}\n`,
  ).join('');
  await createRedisTaskDiffs({ redis, prefix, retentionDays: 1 }).put(taskId, {
    files: Array.from({ length: 20 }, (_, i) => `src/f${i}.ts`),
    stat: '',
    patch,
  });
  await timeline.close();
  await store.close();
  redis.disconnect();
  return taskId;
}

async function timeGets(url: string, times: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers: auth });
    await res.text();
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    out.push(performance.now() - t0);
  }
  return out;
}

async function firstScreen(base: string, taskId: string, times: number): Promise<number[]> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  const context = await browser.newContext({
    extraHTTPHeaders: auth,
    viewport: { width: 1280, height: 800 },
  });
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    const page = await context.newPage();
    const t0 = performance.now();
    await page.goto(`${base}/tasks/${taskId}`, { waitUntil: 'commit' });
    await page.locator('#task-status').waitFor();
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => r(null)))');
    out.push(performance.now() - t0);
    await page.close();
  }
  await browser.close();
  return out;
}

async function fillDashboard(count: number): Promise<string> {
  const redis = new Redis(REDIS_URL);
  const store = createRedisTaskStore({ redis, prefix, retentionDays: 30 });
  for (let i = 0; i < count; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, count - i) }, (_, j) =>
        store.create(aTask(`tdash${i + j}`, i + j), []),
      ),
    );
  }
  await store.close();
  redis.disconnect();
  return 'tdash0';
}

async function main(): Promise<void> {
  const env = parseEnv({
    REDIS_URL,
    PORT: '0',
    PATCHBAY_API_TOKEN: token,
    GITHUB_TOKEN: 'ghs_bench',
    LOG_LEVEL: 'silent',
  });
  const config = buildConfig(env, FileConfig.parse({ repositories: [{ name: 'acme/web' }] }));
  const running = await startPatchbay({
    config,
    log,
    server: true,
    worker: false,
    prefix,
    queueName: `pbbench-${randomBytes(3).toString('hex')}`,
  });
  const base = `http://127.0.0.1:${running.port}`;
  try {
    console.log('| measurement | samples | p50 ms | p95 ms | goal |');
    console.log('| --- | ---: | ---: | ---: | --- |');
    const live = await eventLatency(base);
    row('event appended by another process → on the open page (SSE)', live.page, 'p95 < 200 ms');
    row('baseline: Redis PUBLISH → a subscriber, same two processes', live.pubsub);

    const big = await fiveHundredSteps();
    row('GET /tasks/:id of a 500-step task (server answer)', await timeGets(`${base}/tasks/${big}`, 20));
    row(
      '500-step task page in chromium: navigation → first screen',
      await firstScreen(base, big, 10),
      'p95 < 1,000 ms',
    );
    row('baseline: GET /healthz', await timeGets(`${base}/healthz`, 20));

    const one = await fillDashboard(DASHBOARD_TASKS);
    row(
      `GET /tasks with ${DASHBOARD_TASKS.toLocaleString('en-US')} tasks in Redis`,
      await timeGets(`${base}/tasks`, 20),
      'p95 < 300 ms',
    );
    row(
      `GET /tasks?status=failed (none match: scans them all)`,
      await timeGets(`${base}/tasks?status=failed`, 5),
    );
    row('baseline: GET /api/tasks/:id', await timeGets(`${base}/api/tasks/${one}`, 20));
  } finally {
    await running.stop();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    redis.disconnect();
  }
}

await main();
