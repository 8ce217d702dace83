import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { SCRIPTED_USAGE, type ScriptedTurn } from '../../src/demo/scripted-model.js';
import type { TaskTimeline } from '../../src/domain/ports.js';
import type { StoredTimelineEntry, TimelineEntry } from '../../src/domain/timeline.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createRedisTaskDiffs } from '../../src/queue/redis-task-diffs.js';
import { createRedisTaskTimeline } from '../../src/queue/redis-task-timeline.js';
import { type Harness, isFinal, REPO } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';
import { REDIS_URL } from '../fakes/redis.js';

const start = harnessPerTest();
const closers: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** The timeline and diffs as a server process reads them: its own connection to the worker's Redis. */
function readerFor(h: Harness) {
  const redis = new Redis(REDIS_URL);
  const prefix = h.workerProcessEnv.PATCHBAY_REDIS_PREFIX;
  const timeline = createRedisTaskTimeline({
    redis,
    prefix,
    retentionDays: 1,
    capBytes: 2 * 1024 * 1024,
    log: createSilentLogger(),
  });
  closers.push(
    () => redis.disconnect(),
    () => timeline.close(),
  );
  const diffs = createRedisTaskDiffs({ redis, prefix, retentionDays: 1 });
  /** Everything Redis holds of the task's timeline and diff, as stored. */
  const raw = async (id: string) =>
    [
      JSON.stringify(await redis.xrange(`${prefix}timeline:{${id}}`, '-', '+')),
      JSON.stringify(await redis.hgetall(`${prefix}timeline-outputs:{${id}}`)),
      (await redis.get(`${prefix}diff:{${id}}`)) ?? '',
    ].join('\n');
  return { redis, prefix, timeline, diffs, raw };
}

/** Follows the task's timeline until `done` holds for what arrived: the entry that proves the test's point. */
function followUntil(
  timeline: TaskTimeline,
  taskId: string,
  done: (entries: TimelineEntry[]) => boolean,
): Promise<StoredTimelineEntry[]> {
  const controller = new AbortController();
  const seen: StoredTimelineEntry[] = [];
  return new Promise((resolve) => {
    void timeline.follow(
      taskId,
      undefined,
      (entries) => {
        seen.push(...entries);
        if (!done(seen.map((e) => e.entry))) return;
        controller.abort();
        resolve(seen);
      },
      controller.signal,
    );
  });
}

/** The task's events as a page gets them: Server-Sent Events from the server, until `done` holds. */
async function streamUntil(h: Harness, taskId: string, done: (entries: TimelineEntry[]) => boolean) {
  const controller = new AbortController();
  const res = await fetch(`${h.base}/api/tasks/${taskId}/events`, {
    headers: { authorization: `Bearer ${h.secrets.apiToken}`, accept: 'text/event-stream' },
    signal: controller.signal,
  });
  const seen: StoredTimelineEntry[] = [];
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body ?? []) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    const events = buffer.split('\n\n');
    buffer = events.pop() ?? '';
    for (const event of events) {
      const data = event.split('\n').find((line) => line.startsWith('data: '));
      if (data) seen.push(JSON.parse(data.slice(6)) as StoredTimelineEntry);
    }
    if (done(seen.map((e) => e.entry))) break;
  }
  controller.abort();
  return seen;
}

const label = (e: TimelineEntry) => {
  if (e.type === 'stage' || e.type === 'stage_ended') return `${e.type}:${e.stage}`;
  if (e.type === 'tool_call') return `tool_call:${e.tool}`;
  if (e.type === 'outcome') return `outcome:${e.status}`;
  if (e.type === 'queued') return `queued:${e.kind}`;
  return e.type;
};
const ended = (status: string) => (entries: TimelineEntry[]) =>
  entries.some((e) => e.type === 'outcome' && e.status === status);

describe('a task’s timeline', () => {
  it('holds, in order, what the task did: queued, timed stages, model turns, tool calls, checks, the PR, the outcome; no secret', async () => {
    let secret = '';
    const script: ScriptedTurn[] = [
      { tool: 'read_file', args: { path: 'src/greet.js' } },
      {
        tool: 'edit_file',
        args: { path: 'src/greet.js', old_text: "'Hello ' + name", new_text: '`Hello, ${name}`' },
      },
      { tool: 'write_file', args: { path: 'notes.txt', content: '' } },
      { tool: 'bash', args: { command: 'cat notes.txt; node test.js' } },
      { tool: 'finish', args: { title: 'Fix the greeting', summary: 'greet() now has its comma.' } },
    ];
    const h = await start(
      (_req, turn) => {
        const next = script[turn] ?? { content: 'done' };
        // The planted secret: the API token, which has no credential shape; only its value can catch it.
        return turn === 2
          ? { tool: 'write_file', args: { path: 'notes.txt', content: `token=${secret}\n` } }
          : next;
      },
      { file: { repositories: [{ name: REPO, check: ['node test.js', 'cat notes.txt'] }] } },
    );
    secret = h.secrets.apiToken;
    const reader = readerFor(h);

    const created = await h.createTask({ instruction: 'greet() is missing a comma' });
    const streamed = streamUntil(h, created.body.id, ended('succeeded'));
    const stored = await followUntil(reader.timeline, created.body.id, ended('succeeded'));
    const entries = stored.map((e) => e.entry);
    const task = await h.waitFor(created.body.id, isFinal);
    const headers = { authorization: `Bearer ${h.secrets.apiToken}` };
    const json = (await (
      await fetch(`${h.base}/api/tasks/${created.body.id}/events`, { headers })
    ).json()) as {
      events: StoredTimelineEntry[];
    };
    const patch = await (await fetch(`${h.base}/api/tasks/${created.body.id}/diff`, { headers })).text();

    expect(entries.map(label)).toEqual([
      'queued:new',
      'stage:clone',
      'stage_ended:clone',
      'stage:setup',
      'environment',
      'stage_ended:setup',
      'stage:agent',
      'model_turn',
      'tool_call:read_file',
      'model_turn',
      'tool_call:edit_file',
      'model_turn',
      'tool_call:write_file',
      'model_turn',
      'tool_call:bash',
      'model_turn',
      'tool_call:finish',
      'stage_ended:agent',
      'stage:checks',
      'checks',
      'stage_ended:checks',
      'stage:pull_request',
      'pull_request',
      'stage_ended:pull_request',
      'outcome:succeeded',
    ]);
    expect(entries[0]).toMatchObject({ source: 'api', text: 'greet() is missing a comma', run: 1 });
    for (const e of entries) if (e.type === 'stage_ended') expect(e.durationMs).toBeGreaterThanOrEqual(0);
    expect(entries[4]).toMatchObject({ setup: 'none', commands: 0, cache: false });
    expect(entries[7]).toMatchObject({ turn: 1, model: 'scripted', ...SCRIPTED_USAGE, attempt: 1 });
    const bash = entries[14];
    expect(bash).toMatchObject({ step: 4, detail: 'bash: cat notes.txt; node test.js', failed: false });
    expect(bash?.type === 'tool_call' && bash.output).toBe('exit code: 0\ntoken=[redacted]\nok\n');
    const checks = entries[19];
    expect(checks?.type === 'checks' && checks.checks.map((c) => [c.command, c.exitCode, c.output])).toEqual([
      ['node test.js', 0, 'ok\n'],
      ['cat notes.txt', 0, 'token=[redacted]\n'],
    ]);
    expect(entries[22]).toMatchObject({ pullRequest: task.pullRequest, created: true });
    expect(entries[24]).toMatchObject({ summary: 'greet() now has its comma.', steps: 5 });
    const diff = await reader.diffs.get(created.body.id);
    expect(diff?.files.sort()).toEqual(['notes.txt', 'src/greet.js']);
    expect(diff?.patch).toContain('+token=[redacted]');
    expect(diff?.patch).toContain('+export const greet = (name) => `Hello, ${name}`;');
    const raw = await reader.raw(created.body.id);
    expect(raw).not.toContain(secret);
    for (const other of Object.values(h.secrets)) expect(raw).not.toContain(other);
    expect((await streamed).map((e) => e.id)).toEqual(stored.map((e) => e.id));
    expect(json.events).toEqual(stored);
    expect(patch).toContain('+token=[redacted]');
    expect(patch).not.toContain(secret);
  });

  it('keeps the question, the answer and the resumed run; the transcript is appended and resumes from its checkpoint', async () => {
    const h = await start([
      { tool: 'write_file', args: { path: 'draft.txt', content: 'first draft\n' } },
      { tool: 'ask_user', args: { question: 'Blue or green?' } },
      { tool: 'write_file', args: { path: 'colour.txt', content: 'blue\n' } },
      { tool: 'finish', args: { title: 'Pick blue', summary: 'Blue, as answered.' } },
    ]);
    const reader = readerFor(h);
    const transcriptKey = (id: string) => `${reader.prefix}transcript:{${id}}`;

    const created = await h.createTask({ instruction: 'pick a colour', conversation: 'colours' });
    const id = created.body.id;
    await followUntil(reader.timeline, id, ended('waiting_for_input'));
    const atQuestion = await reader.redis.lrange(transcriptKey(id), 0, -1);
    const checkpoint = await reader.redis.get(`${reader.prefix}transcript-checkpoint:{${id}}`);
    const diffAtQuestion = await reader.diffs.get(id);
    await h.createTask({ instruction: 'blue, please', conversation: 'colours' });
    const entries = (await followUntil(reader.timeline, id, ended('succeeded'))).map((e) => e.entry);
    const after = await reader.redis.lrange(transcriptKey(id), 0, -1);

    expect(checkpoint).toBe(String(atQuestion.length));
    expect(after.slice(0, atQuestion.length)).toEqual(atQuestion);
    expect(after[atQuestion.length]).toContain('blue, please');
    expect(diffAtQuestion?.files).toEqual(['draft.txt']);
    expect((await reader.diffs.get(id))?.files.sort()).toEqual(['colour.txt', 'draft.txt']);
    const labels = entries.map(label);
    expect(
      labels.slice(labels.indexOf('stage_ended:agent'), labels.indexOf('outcome:waiting_for_input') + 1),
    ).toEqual(['stage_ended:agent', 'question', 'outcome:waiting_for_input']);
    const answered = entries.findIndex((e) => e.type === 'queued' && e.kind === 'answer');
    expect(entries[answered]).toMatchObject({ text: 'blue, please', run: 2 });
    expect(labels[answered + 1]).toBe('stage:clone');
    expect(entries.at(-1)).toMatchObject({
      type: 'outcome',
      status: 'succeeded',
      run: 2,
      attempt: 2,
      steps: 4,
    });
  });
});
