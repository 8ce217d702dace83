import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once, setMaxListeners } from 'node:events';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyUsage } from '../../src/domain/task.js';
import type { StoredTimelineEntry, TimelineEntry } from '../../src/domain/timeline.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createRedisTaskTimeline } from '../../src/queue/redis-task-timeline.js';
import { REDIS_URL } from '../fakes/redis.js';

let redis: Redis;
let prefix: string;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeEach(() => {
  prefix = `pbtest:${randomBytes(4).toString('hex')}:`;
  redis = new Redis(REDIS_URL, { connectionName: `pbtest-${prefix}` });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

function timelineOn(conn: Redis, opts: { capBytes?: number; keepBytes?: number } = {}) {
  const timeline = createRedisTaskTimeline({
    redis: conn,
    prefix,
    retentionDays: 3,
    capBytes: opts.capBytes ?? 2 * 1024 * 1024,
    keepBytes: opts.keepBytes,
    log: createSilentLogger(),
  });
  cleanups.push(() => timeline.close());
  return timeline;
}

const at = () => new Date().toISOString();
const note = (text: string): TimelineEntry => ({ type: 'note', at: at(), text });
const modelTurn = (turn: number): TimelineEntry => ({
  type: 'model_turn',
  at: at(),
  run: 1,
  attempt: 1,
  turn,
  model: 'gpt-test',
  text: `Turn ${turn}: looking at the next file.`,
  toolCalls: 1,
  promptTokens: 1_000 * turn,
  cachedTokens: 900 * turn,
  completionTokens: 80,
  usd: 0.001,
  durationMs: 420,
});
/** A test log of `bytes` bytes: recognisable first and last lines, accented letters in between. */
const logOutput = (step: number, bytes: number) => {
  const first = `FIRST LINE of step ${step}\n`;
  const last = `\nLAST LINE of step ${step}`;
  return first + 'é'.repeat((bytes - first.length - last.length) / 2) + last;
};
const toolCall = (step: number, output: string): TimelineEntry => ({
  type: 'tool_call',
  at: at(),
  run: 1,
  attempt: 1,
  step,
  tool: 'bash',
  args: JSON.stringify({ command: `npm test -- step${step}` }),
  detail: `bash: npm test -- step${step}`,
  output,
  outputBytes: Buffer.byteLength(output),
  failed: false,
  durationMs: 1_200,
});
const types = (entries: StoredTimelineEntry[]) => entries.map((e) => e.entry.type);

/** What Redis holds for a task's timeline, counted from the keys themselves. */
async function storedBytes(taskId: string): Promise<{ counted: number; actual: number }> {
  const items = await redis.xrange(`${prefix}timeline:{${taskId}}`, '-', '+');
  const outputs = await redis.hgetall(`${prefix}timeline-outputs:{${taskId}}`);
  const entryBytes = items.reduce((sum, [, fields]) => sum + Buffer.byteLength(fields[1] ?? ''), 0);
  const outputBytes = items.reduce(
    (sum, [id]) => sum + (outputs[id] === undefined ? 0 : Buffer.byteLength(outputs[id]) - 1),
    0,
  );
  return { counted: Number(outputs['~bytes']), actual: entryBytes + outputBytes };
}

describe('a task timeline in Redis', () => {
  it('reads back what was appended, in order, tool outputs included, from any position', async () => {
    const timeline = timelineOn(redis);
    const entries = [modelTurn(1), toolCall(1, 'exit code: 0\nok\n'), note('said by the log')];

    for (const entry of entries) await timeline.append('t1', entry);
    const all = await timeline.read('t1');
    const afterFirst = await timeline.read('t1', { after: all[0]?.id, limit: 1 });

    expect(all.map((e) => e.entry)).toEqual(entries);
    expect(afterFirst.map((e) => e.entry)).toEqual([entries[1]]);
    expect(await timeline.read('t-none')).toEqual([]);
  });

  it('expires with the task’s retention', async () => {
    const timeline = timelineOn(redis);

    await timeline.append('t1', toolCall(1, 'output'));

    for (const key of [`${prefix}timeline:{t1}`, `${prefix}timeline-outputs:{t1}`]) {
      expect(await redis.ttl(key)).toBeGreaterThan(2 * 86_400);
      expect(await redis.ttl(key)).toBeLessThanOrEqual(3 * 86_400);
    }
  });

  it('holds a 500-step task under its cap by shortening the oldest outputs first, and says so once', async () => {
    const timeline = timelineOn(redis);
    const outputs = Array.from({ length: 500 }, (_, i) => logOutput(i + 1, 8_000));

    for (const [i, output] of outputs.entries()) {
      await timeline.append('t1', modelTurn(i + 1));
      await timeline.append('t1', toolCall(i + 1, output));
    }
    const entries = await timeline.read('t1');

    const bytes = await storedBytes('t1');
    expect(bytes.counted).toBe(bytes.actual);
    expect(bytes.actual).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(types(entries).filter((t) => t !== 'note')).toHaveLength(1_000);
    expect(types(entries).filter((t) => t === 'note')).toHaveLength(1);
    const calls = entries.flatMap((e) => (e.entry.type === 'tool_call' ? [e.entry] : []));
    const shortened = calls.filter((c) => c.shortened).length;
    expect(shortened).toBeGreaterThan(100);
    expect(calls.slice(0, shortened).every((c) => c.shortened)).toBe(true);
    expect(calls.slice(shortened).every((c) => !c.shortened)).toBe(true);
    expect(calls.slice(shortened).map((c) => c.output)).toEqual(outputs.slice(shortened));
    const first = calls[0];
    expect(first?.output).toMatch(/^FIRST LINE of step 1\né+\n\[… \d+ bytes cut to keep this task's log/);
    expect(first?.output).toMatch(/…\]\né+\nLAST LINE of step 1$/);
    expect(first?.output).not.toContain('\uFFFD');
    expect(Buffer.byteLength(first?.output ?? '')).toBeLessThan(2_200);
    expect(first?.outputBytes).toBe(Buffer.byteLength(outputs[0] ?? ''));
    const noteAt = types(entries).indexOf('note');
    expect(entries[noteAt]?.entry).toMatchObject({ text: expect.stringMatching(/cap of 2048 KiB/) });
    expect(entries[noteAt - 1]?.entry.type).toBe('tool_call');
  });

  it('cuts outputs to a line alone, oldest first, when heads and tails are still too much', async () => {
    const timeline = timelineOn(redis, { capBytes: 64 * 1024 });

    for (let step = 1; step <= 60; step++)
      await timeline.append('t1', toolCall(step, logOutput(step, 4_000)));
    await timeline.append('t1', toolCall(61, logOutput(61, 200_000)));
    const calls = (await timeline.read('t1')).flatMap((e) => (e.entry.type === 'tool_call' ? [e.entry] : []));

    const bytes = await storedBytes('t1');
    expect(bytes.actual).toBeLessThanOrEqual(64 * 1024);
    expect(calls).toHaveLength(61);
    expect(calls[0]?.output).toBe("[… output cut to keep this task's log under its cap …]");
    expect(calls[60]?.output).toMatch(/^FIRST LINE of step 61\n.*LAST LINE of step 61$/s);
  });
});

describe('following a task timeline', () => {
  it('gives what was there first, then what another connection appends, in order, until aborted', async () => {
    const writerConn = new Redis(REDIS_URL);
    cleanups.push(() => writerConn.disconnect());
    const writer = timelineOn(writerConn);
    const reader = timelineOn(redis);
    await writer.append('t1', note('before 1'));
    await writer.append('t1', note('before 2'));
    const seen: string[] = [];
    const controller = new AbortController();
    const waiters: Array<{ n: number; done: () => void }> = [];
    const reached = (n: number) =>
      new Promise<void>((resolve) => (seen.length >= n ? resolve() : waiters.push({ n, done: resolve })));
    const following = reader.follow(
      't1',
      undefined,
      (entries) => {
        for (const { entry } of entries) if (entry.type === 'note') seen.push(entry.text);
        for (const w of waiters.filter((x) => seen.length >= x.n)) w.done();
      },
      controller.signal,
    );

    await reached(2);
    for (let i = 1; i <= 20; i++) await writer.append('t1', note(`live ${i}`));
    await reached(22);
    controller.abort();
    await following;

    expect(seen).toEqual(['before 1', 'before 2', ...Array.from({ length: 20 }, (_, i) => `live ${i + 1}`)]);
  });

  it('follows many tasks on one blocking connection, each follower from its own position', async () => {
    const reader = timelineOn(redis);
    const tasks = Array.from({ length: 20 }, (_, i) => `t${i}`);
    for (const task of tasks) await reader.append(task, note(`${task} old`));
    const controller = new AbortController();
    setMaxListeners(tasks.length + 1, controller.signal);
    const got = new Map<string, string[]>();
    const allLive = new Promise<void>((resolve) => {
      for (const task of tasks) {
        void reader.follow(
          task,
          undefined,
          (entries) => {
            const list = got.get(task) ?? [];
            for (const { entry } of entries) if (entry.type === 'note') list.push(entry.text);
            got.set(task, list);
            if (tasks.every((t) => got.get(t)?.includes(`${t} new`))) resolve();
          },
          controller.signal,
        );
      }
    });
    const last = (await reader.read('t0')).at(-1)?.id;
    const late: string[] = [];
    const lateGot = new Promise<void>((resolve) => {
      void reader.follow(
        't0',
        last,
        (entries) => {
          for (const { entry } of entries) if (entry.type === 'note') late.push(entry.text);
          resolve();
        },
        controller.signal,
      );
    });

    for (const task of tasks) await reader.append(task, note(`${task} new`));
    await allLive;
    await lateGot;
    const clients = String(await redis.client('LIST'))
      .split('\n')
      .filter((line) => line.includes(`name=pbtest-${prefix}`));
    controller.abort();

    for (const task of tasks) expect(got.get(task)).toEqual([`${task} old`, `${task} new`]);
    expect(late).toEqual(['t0 new']);
    expect(clients).toHaveLength(2);
  });

  it('stops giving entries to a follower once aborted, while others still get them', async () => {
    const timeline = timelineOn(redis);
    const stopped = new AbortController();
    const kept = new AbortController();
    cleanups.push(() => kept.abort());
    const first: string[] = [];
    const second: string[] = [];
    let secondGot: (text: string) => void = () => undefined;
    const stoppedFollow = timeline.follow(
      't1',
      undefined,
      (entries) => first.push(...entries.map((e) => (e.entry.type === 'note' ? e.entry.text : ''))),
      stopped.signal,
    );
    const secondSaw = (text: string) =>
      new Promise<void>((resolve) => {
        secondGot = (t) => t === text && resolve();
      });
    void timeline.follow(
      't1',
      undefined,
      (entries) => {
        for (const e of entries) {
          if (e.entry.type !== 'note') continue;
          second.push(e.entry.text);
          secondGot(e.entry.text);
        }
      },
      kept.signal,
    );
    const sawOne = secondSaw('one');

    await timeline.append('t1', note('one'));
    await sawOne;
    stopped.abort();
    await stoppedFollow;
    const sawTwo = secondSaw('two');
    await timeline.append('t1', note('two'));
    await sawTwo;

    expect(first).toEqual(['one']);
    expect(second).toEqual(['one', 'two']);
  });

  it('gives entries another process appends', async () => {
    const timeline = timelineOn(redis);
    const child: ChildProcess = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), 'tests/fakes/append-timeline.ts', prefix, 't1'],
      { env: { ...process.env, REDIS_URL }, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    cleanups.push(() => child.kill('SIGKILL'));
    const lines = createInterface({ input: child.stdout ?? process.stdin });
    const [firstLine] = (await once(lines, 'line')) as [string];
    const controller = new AbortController();
    cleanups.push(() => controller.abort());
    const seen: string[] = [];
    const all = new Promise<void>((resolve) => {
      void timeline.follow(
        't1',
        undefined,
        (entries) => {
          for (const { entry } of entries) if (entry.type === 'note') seen.push(entry.text);
          if (seen.length === 3) resolve();
        },
        controller.signal,
      );
    });

    child.stdin?.end('from another process 1\nfrom another process 2\nfrom another process 3\n');
    await all;

    expect(firstLine).toBe('ready');
    expect(seen).toEqual(['from another process 1', 'from another process 2', 'from another process 3']);
  });
});

describe('outcome entries', () => {
  it('keep their usage and error as written', async () => {
    const timeline = timelineOn(redis);
    const outcome: TimelineEntry = {
      type: 'outcome',
      at: at(),
      run: 1,
      attempt: 2,
      status: 'retrying',
      error: { code: 'model_error', message: 'The model endpoint answered 503' },
      steps: 3,
      usage: emptyUsage(),
    };

    await timeline.append('t1', outcome);

    expect((await timeline.read('t1')).map((e) => e.entry)).toEqual([outcome]);
  });
});
