import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileConfig } from '../../src/config/file-schema.js';
import { buildConfig, parseEnv } from '../../src/config/load-config.js';
import type { TaskEvent } from '../../src/domain/events.js';
import type { TaskQueue, TaskTimeline } from '../../src/domain/ports.js';
import { newTaskRecord, type TaskRecord } from '../../src/domain/task.js';
import type { TimelineEntry } from '../../src/domain/timeline.js';
import { createLogger, createSilentLogger } from '../../src/lib/logger.js';
import { createRedactor } from '../../src/lib/redact.js';
import { createRedisIdempotencyStore } from '../../src/queue/redis-idempotency-store.js';
import { createRedisTaskDiffs } from '../../src/queue/redis-task-diffs.js';
import { createRedisTaskTimeline } from '../../src/queue/redis-task-timeline.js';
import {
  createMemoryConversationStore,
  createMemoryDiffs,
  createMemoryTaskStore,
  createMemoryTimeline,
} from '../../src/tasks/memory-stores.js';
import { retryTask } from '../../src/tasks/retry-task.js';
import { submitTask } from '../../src/tasks/submit-task.js';
import { createTimelineWriter } from '../../src/tasks/timeline-writer.js';
import { createManualClock } from '../fakes/manual-clock.js';
import { REDIS_URL } from '../fakes/redis.js';

let redis: Redis;
let prefix: string;
beforeEach(() => {
  redis = new Redis(REDIS_URL);
  prefix = `pbtest:${randomBytes(4).toString('hex')}:`;
});
afterEach(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

/** A configured secret with no credential shape: only the configured value can catch it. */
const secret = `planted-${randomBytes(12).toString('hex')}`;
const redact = createRedactor([secret]);
const task: TaskRecord = {
  ...newTaskRecord('t1', {
    repo: 'acme/web',
    instruction: 'fix it',
    conversation: 'api:c1',
    origin: { source: 'api', label: 'HTTP API' },
  }),
  attempts: 1,
};
const at = () => new Date().toISOString();
const note = (text: string): TimelineEntry => ({ type: 'note', at: at(), text });
const texts = (entries: Array<{ entry: TimelineEntry }>) =>
  entries.map(({ entry }) => (entry.type === 'note' ? entry.text : entry.type));

function memoryWriter(timeline: TaskTimeline = createMemoryTimeline(), extra = {}) {
  const diffs = createMemoryDiffs();
  const writer = createTimelineWriter({
    timeline,
    diffs,
    redact,
    capBytes: 2 * 1024 * 1024,
    log: createSilentLogger(),
    ...extra,
  });
  return { writer, timeline, diffs };
}

describe('the timeline writer', () => {
  it('redacts every string before it reaches Redis: outputs, arguments, checks, the request, the diff', async () => {
    const timeline = createRedisTaskTimeline({
      redis,
      prefix,
      retentionDays: 1,
      capBytes: 1024 * 1024,
      log: createSilentLogger(),
    });
    const diffs = createRedisTaskDiffs({ redis, prefix, retentionDays: 1 });
    const writer = createTimelineWriter({
      timeline,
      diffs,
      redact,
      capBytes: 1024 * 1024,
      log: createSilentLogger(),
    });
    const stamp = { at: at(), run: 1, attempt: 1 };

    writer.add('t1', { type: 'queued', at: at(), run: 1, kind: 'new', source: 'api', text: `use ${secret}` });
    writer.activity(task, {
      type: 'model_turn',
      turn: 1,
      model: 'm',
      text: `I found ${secret} in .env`,
      toolCalls: 1,
      promptTokens: 1,
      cachedTokens: 0,
      completionTokens: 1,
      usd: null,
      durationMs: 1,
    });
    writer.activity(task, {
      type: 'tool_call',
      step: 1,
      tool: 'bash',
      args: JSON.stringify({ command: `echo ${secret}` }),
      detail: `bash: echo ${secret}`,
      output: `exit code: 0\n${secret}\n`,
      outputBytes: 10,
      failed: false,
      durationMs: 3,
    });
    writer.add('t1', {
      type: 'checks',
      ...stamp,
      checks: [
        { command: 'npm test', exitCode: 1, timedOut: false, output: `env: ${secret}`, durationMs: 9 },
      ],
    });
    writer.diff('t1', {
      files: [`config/${secret}.txt`],
      stat: ` config/${secret}.txt | 1 +`,
      patch: `+++ b/config/${secret}.txt\n+token=${secret}\n`,
    });
    await writer.flush('t1');

    const stored = [
      JSON.stringify(await redis.xrange(`${prefix}timeline:{t1}`, '-', '+')),
      JSON.stringify(await redis.hgetall(`${prefix}timeline-outputs:{t1}`)),
      (await redis.get(`${prefix}diff:{t1}`)) ?? '',
    ].join('\n');
    expect(stored).not.toContain(secret);
    expect(stored.split('[redacted]').length - 1).toBe(10);
    expect((await timeline.read('t1')).map((e) => e.entry.type)).toEqual([
      'queued',
      'model_turn',
      'tool_call',
      'checks',
    ]);
    expect(await diffs.get('t1')).toEqual({
      files: ['config/[redacted].txt'],
      stat: ' config/[redacted].txt | 1 +',
      patch: '+++ b/config/[redacted].txt\n+token=[redacted]\n',
    });
    await timeline.close();
  });

  it('returns before anything is written, and writes each task’s entries in the order given', async () => {
    const memory = createMemoryTimeline();
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { writer } = memoryWriter({
      ...memory,
      append: async (taskId, entry) => {
        await gate;
        await memory.append(taskId, entry);
      },
    });

    for (let i = 1; i <= 5; i++) writer.add('t1', note(`entry ${i}`));
    writer.add('t2', note('other task'));
    const beforeOpen = await memory.read('t1');
    open();
    await writer.flushAll();

    expect(beforeOpen).toEqual([]);
    expect(texts(await memory.read('t1'))).toEqual(['entry 1', 'entry 2', 'entry 3', 'entry 4', 'entry 5']);
    expect(texts(await memory.read('t2'))).toEqual(['other task']);
  });

  it('logs a write that fails and goes on with the next', async () => {
    const memory = createMemoryTimeline();
    const lines: string[] = [];
    const log = createLogger({
      destination: new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    const { writer } = memoryWriter(
      {
        ...memory,
        append: async (taskId, entry) => {
          if (entry.type === 'note' && entry.text === 'bad') throw new Error('Redis is down');
          await memory.append(taskId, entry);
        },
      },
      { log },
    );

    writer.add('t1', note('good 1'));
    writer.add('t1', note('bad'));
    writer.add('t1', note('good 2'));
    await writer.flush('t1');

    expect(texts(await memory.read('t1'))).toEqual(['good 1', 'good 2']);
    const failures = lines
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'could not write the task timeline');
    expect(failures).toEqual([expect.objectContaining({ taskId: 't1', what: 'note', err: 'Redis is down' })]);
  });

  it('gives up waiting for a flush after its bound, on its clock', async () => {
    const clock = createManualClock();
    const { writer } = memoryWriter(
      { ...createMemoryTimeline(), append: () => new Promise<void>(() => undefined) },
      { clock },
    );
    writer.add('t1', note('never written'));

    const flushing = writer.flush('t1', 2_000);
    await clock.waitForTimer(2_000);
    clock.advance(2_000);

    expect(await flushing).toBe(false);
  });

  it('times each stage from the worker’s events and writes how the run or the attempt ended', async () => {
    const { writer, timeline } = memoryWriter();
    const events: TaskEvent[] = [
      { type: 'started', task, stage: 'clone' },
      { type: 'stage', task, stage: 'setup' },
      { type: 'stage', task, stage: 'agent' },
      { type: 'question', task, question: 'Which colour?' },
    ];

    for (const event of events) await writer.observer.report(event);
    await writer.observer.report({
      type: 'started',
      task: { ...task, runs: 2, attempts: 2 },
      stage: 'clone',
    });
    writer.attemptEnded({ ...task, runs: 2, attempts: 2 }, 'retrying', {
      code: 'model_error',
      message: '503',
    });
    await writer.flush('t1');

    const entries = (await timeline.read('t1')).map((e) => e.entry);
    expect(
      entries.map((e) => (e.type === 'stage' || e.type === 'stage_ended' ? `${e.type}:${e.stage}` : e.type)),
    ).toEqual([
      'stage:clone',
      'stage_ended:clone',
      'stage:setup',
      'stage_ended:setup',
      'stage:agent',
      'stage_ended:agent',
      'question',
      'outcome',
      'stage:clone',
      'stage_ended:clone',
      'outcome',
    ]);
    for (const e of entries) if (e.type === 'stage_ended') expect(e.durationMs).toBeGreaterThanOrEqual(0);
    expect(entries[7]).toMatchObject({ status: 'waiting_for_input', run: 1, attempt: 1 });
    expect(entries[10]).toMatchObject({
      status: 'retrying',
      run: 2,
      attempt: 2,
      error: { code: 'model_error', message: '503' },
    });
  });

  it('hears from submit of a new task, its answer and its retry, each before its job is queued', async () => {
    const { writer, timeline } = memoryWriter();
    const seenAtEnqueue: string[][] = [];
    const queue: TaskQueue = {
      async enqueue(task) {
        seenAtEnqueue.push((await timeline.read(task.id)).map(({ entry }) => entry.type));
      },
      withdraw: async () => false,
    };
    const deps = {
      config: buildConfig(parseEnv({}), FileConfig.parse({ repositories: [{ name: 'acme/web' }] })),
      store: createMemoryTaskStore(),
      conversations: createMemoryConversationStore(),
      idempotency: createRedisIdempotencyStore({ redis, prefix }),
      queue,
      timeline: writer,
      log: createSilentLogger(),
    };
    const request = {
      repo: 'acme/web',
      conversation: 'api:c1',
      origin: { source: 'api' as const, label: 'HTTP API', requester: 'alice' },
    };

    const { task } = await submitTask(deps, { ...request, instruction: `fix it with ${secret}` });
    await deps.store.update(task.id, () => ({ status: 'waiting_for_input', question: 'Blue?' }));
    await deps.conversations.setWaiting('api:c1', task.id);
    await submitTask(deps, { ...request, instruction: 'blue' });
    await deps.store.update(task.id, () => ({ status: 'failed' }));
    const retry = await retryTask(deps, task.id);

    expect(seenAtEnqueue).toEqual([['queued'], ['queued', 'queued'], ['queued']]);
    expect((await timeline.read(task.id)).map(({ entry }) => entry)).toEqual([
      expect.objectContaining({
        kind: 'new',
        run: 1,
        source: 'api',
        requester: 'alice',
        text: 'fix it with [redacted]',
      }),
      expect.objectContaining({ kind: 'answer', run: 2, text: 'blue' }),
    ]);
    expect((await timeline.read(retry.task.id)).map(({ entry }) => entry)).toEqual([
      expect.objectContaining({ type: 'queued', kind: 'retry', run: 1, text: 'fix it with [redacted]' }),
    ]);
  });
});
