/**
 * What a task's timeline costs the worker, and what a long task's transcript writes to Redis.
 *
 * 1. Per timeline entry: what the agent waits for (handing an activity to the writer), what the writer
 *    then does in the background (redaction, the append script's round trip), against the baselines of
 *    a plain XADD and a PING; and how soon a follower on another connection gets an entry.
 * 2. A scripted 300-step task through the real agent loop: bytes sent to Redis for the transcript after
 *    each turn, appending what the turn added against rewriting the whole transcript (what Patchbay
 *    did before), in the same run.
 *
 * Run with `npx tsx bench/timeline.ts` (REDIS_URL, default redis://127.0.0.1:6379).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { createAgent } from '../src/agent/create-agent.js';
import type { AgentActivity, ChatMessage } from '../src/agent/types.js';
import { startScriptedModel } from '../src/demo/scripted-model.js';
import { emptyUsage, newTaskRecord, type TaskRecord } from '../src/domain/task.js';
import type { TimelineEntry } from '../src/domain/timeline.js';
import { createSilentLogger } from '../src/lib/logger.js';
import { createRedactor } from '../src/lib/redact.js';
import { createRedisTaskDiffs } from '../src/queue/redis-task-diffs.js';
import { createRedisTaskStore } from '../src/queue/redis-task-store.js';
import { createRedisTaskTimeline } from '../src/queue/redis-task-timeline.js';
import { createTimelineWriter } from '../src/tasks/timeline-writer.js';
import { REDIS_URL } from '../tests/fakes/redis.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 2_000);
const STEPS = 300;
const CAP = 2 * 1024 * 1024;
const log = createSilentLogger();
const prefix = `pbbench:${randomBytes(4).toString('hex')}:`;
// As many secrets as a fully configured Patchbay has, each as long as real ones.
const redact = createRedactor(Array.from({ length: 14 }, () => randomBytes(24).toString('hex')));

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)] ?? Number.NaN;
const row = (label: string, xs: number[]) =>
  console.log(`| ${label} | ${pct(xs, 0.5).toFixed(3)} | ${pct(xs, 0.95).toFixed(3)} |`);
const timed = async (work: () => unknown) => {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
};

const task: TaskRecord = {
  ...newTaskRecord('tbench', {
    repo: 'acme/web',
    instruction: 'bench',
    conversation: 'bench',
    origin: { source: 'api', label: 'bench' },
  }),
  attempts: 1,
};
/** A test run's typical output: 4 KB of log lines. */
const output = Array.from({ length: 80 }, (_, i) => `  ✓ test ${i} passes (12 ms) in src/module${i}.test.ts`)
  .join('\n')
  .slice(0, 4_000);
const toolCall = (step: number): AgentActivity => ({
  type: 'tool_call',
  step,
  tool: 'bash',
  args: JSON.stringify({ command: 'npm test -- --reporter dot', timeout_s: null }),
  detail: 'bash: npm test -- --reporter dot',
  output,
  outputBytes: Buffer.byteLength(output),
  failed: false,
  durationMs: 2_100,
});
const modelTurn = (turn: number): AgentActivity => ({
  type: 'model_turn',
  turn,
  model: 'gpt-5-codex',
  text: 'The tests pass; next I will look at the failing lint rule.',
  toolCalls: 1,
  promptTokens: 12_000,
  cachedTokens: 11_000,
  completionTokens: 150,
  usd: 0.004,
  durationMs: 1_800,
});

async function perEntry(redis: Redis): Promise<void> {
  const timeline = createRedisTaskTimeline({ redis, prefix, retentionDays: 1, capBytes: CAP, log });
  const appendMs = { under: [] as number[], past: [] as number[] };
  let written = 0;
  const measured = {
    ...timeline,
    append: async (id: string, entry: TimelineEntry) => {
      written += Buffer.byteLength(JSON.stringify(entry));
      const ms = await timed(() => timeline.append(id, entry));
      (written > CAP ? appendMs.past : appendMs.under).push(ms);
    },
  };
  const writer = createTimelineWriter({
    timeline: measured,
    diffs: createRedisTaskDiffs({ redis, prefix, retentionDays: 1 }),
    redact,
    capBytes: CAP,
    log,
  });
  const agentWaits: number[] = [];
  for (let step = 1; step <= SAMPLES / 2; step++) {
    for (const activity of [modelTurn(step), toolCall(step)]) {
      agentWaits.push(await timed(() => writer.activity(task, activity)));
    }
    await new Promise((resolve) => setImmediate(resolve)); // the agent awaits its next model call
  }
  await writer.flushAll(60_000);
  const redactMs: number[] = [];
  const xaddMs: number[] = [];
  const pingMs: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const entry = { ...toolCall(i), at: new Date().toISOString(), run: 1, attempt: 1 };
    redactMs.push(
      await timed(() =>
        JSON.parse(JSON.stringify(entry), (_k, v) => (typeof v === 'string' ? redact(v) : v)),
      ),
    );
    xaddMs.push(await timed(() => redis.xadd(`${prefix}baseline:{x}`, '*', 'e', JSON.stringify(entry))));
    pingMs.push(await timed(() => redis.ping()));
  }
  const followMs = await followLatency(redis, timeline);
  const stored = await redis.hget(`${prefix}timeline-outputs:{${task.id}}`, '~bytes');
  console.log(
    `\n| one timeline entry (${SAMPLES} samples; a tool call carries 4 KB of output) | p50 ms | p95 ms |`,
  );
  console.log('| --- | ---: | ---: |');
  row('**the agent waits**: activity handed to the writer (queued, nothing else)', agentWaits);
  row('background: redact every string of the entry (14 secrets + credential shapes)', redactMs);
  row(`background: append script, one round trip, under the cap (${appendMs.under.length})`, appendMs.under);
  row(
    `background: append script past the cap, shortening the oldest outputs (${appendMs.past.length})`,
    appendMs.past,
  );
  row('baseline: plain XADD of the same entry, no cap', xaddMs);
  row('baseline: PING round trip', pingMs);
  row('an entry appended on one connection reaches a follower blocked on another', followMs);
  console.log(
    `\n${SAMPLES} entries appended (model turns and tool calls); the task's log holds ${stored} bytes (cap ${CAP}).`,
  );
  await timeline.close();
}

async function followLatency(redis: Redis, timeline: ReturnType<typeof createRedisTaskTimeline>) {
  const writerConn = redis.duplicate();
  const writer = createRedisTaskTimeline({ redis: writerConn, prefix, retentionDays: 1, capBytes: CAP, log });
  const controller = new AbortController();
  let arrived: () => void = () => undefined;
  const following = timeline.follow('tfollow', undefined, () => arrived(), controller.signal);
  const times: number[] = [];
  for (let i = -10; i < 500; i++) {
    const got = new Promise<void>((resolve) => (arrived = resolve));
    const t0 = performance.now();
    await writer.append('tfollow', { type: 'note', at: new Date().toISOString(), text: `n${i}` });
    await got;
    if (i >= 0) times.push(performance.now() - t0); // the first ones warm the follower's connection up
  }
  controller.abort();
  await following;
  await writer.close();
  writerConn.disconnect();
  return times;
}

/** A scripted 300-step task through the real agent; the transcript stored both ways as it grows. */
async function transcriptGrowth(): Promise<void> {
  const turns = Array.from({ length: STEPS - 1 }, (_, i) =>
    i % 2 === 0
      ? {
          tool: 'write_file',
          args: { path: `src/f${i}.js`, content: `export const f${i} = () => ${'1 + '.repeat(100)}1;\n` },
        }
      : { tool: 'read_file', args: { path: `src/f${i - 1}.js`, start_line: null, end_line: null } },
  );
  const model = await startScriptedModel([
    ...turns,
    { tool: 'finish', args: { title: 'Bench', summary: 'Done.' } },
  ]);
  const dir = await mkdtemp(join(tmpdir(), 'patchbay-bench-'));
  await mkdir(join(dir, 'src'));
  const appendConn = new Redis(REDIS_URL);
  const rewriteConn = new Redis(REDIS_URL);
  const store = createRedisTaskStore({ redis: appendConn, prefix, retentionDays: 1 });
  const all: ChatMessage[] = [];
  const perTurn: Array<{ messages: number; appended: number; rewritten: number }> = [];
  try {
    const agent = createAgent({
      openai: new OpenAI({ apiKey: 'bench', baseURL: model.url, maxRetries: 0 }),
      model: 'scripted',
      pricing: {},
      log,
      // What this measures is how the stored transcript grows, not compaction (bench/context.ts).
      compact: false,
    });
    await agent.run({
      workdir: dir,
      sandbox: { mode: 'none', run: async () => Promise.reject(new Error('no commands in this bench')) },
      readOnlyPaths: [],
      instruction: 'bench',
      repo: 'acme/web',
      branch: 'patchbay/bench',
      transcript: [],
      budget: { steps: STEPS + 10, ms: 10 * 60_000, usd: null },
      usedBefore: { steps: 0, usage: emptyUsage() },
      signal: new AbortController().signal,
      onStep: () => undefined,
      onMessages: async (added) => {
        all.push(...added);
        const a0 = appendConn.stream.bytesWritten;
        await store.appendTranscript('tgrowth', added);
        const r0 = rewriteConn.stream.bytesWritten;
        await rewriteConn.set(`${prefix}transcript-blob:tgrowth`, JSON.stringify(all), 'EX', 3_600);
        perTurn.push({
          messages: all.length,
          appended: appendConn.stream.bytesWritten - a0,
          rewritten: rewriteConn.stream.bytesWritten - r0,
        });
      },
      onCompacted: async () => undefined,
    });
  } finally {
    await store.close();
    await model.close();
    await rm(dir, { recursive: true, force: true });
  }
  printGrowth(perTurn);
  appendConn.disconnect();
  rewriteConn.disconnect();
}

function printGrowth(perTurn: Array<{ messages: number; appended: number; rewritten: number }>): void {
  console.log(
    `\n| transcript of a scripted ${STEPS}-step task, after turn | messages | appended this turn, B | appended so far, KB | rewritten this turn, B | rewritten so far, KB |`,
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  let appended = 0;
  let rewritten = 0;
  for (const [i, t] of perTurn.entries()) {
    appended += t.appended;
    rewritten += t.rewritten;
    const turn = i + 1;
    if (turn === 1 || turn % 50 === 0 || turn === perTurn.length) {
      console.log(
        `| ${turn} | ${t.messages} | ${t.appended} | ${(appended / 1024).toFixed(0)} | ${t.rewritten} | ${(rewritten / 1024).toFixed(0)} |`,
      );
    }
  }
  console.log(
    `\nAppends grow with the task (${(appended / perTurn.length).toFixed(0)} B a turn on average); rewriting grows with its square (${(rewritten / 1024 / 1024).toFixed(1)} MB for the whole task).`,
  );
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    await perEntry(redis);
    await transcriptGrowth();
  } finally {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
}

await main();
