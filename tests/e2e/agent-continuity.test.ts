import { describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../src/agent/types.js';
import type { ScriptedModel } from '../../src/demo/scripted-model.js';
import type { TimelineEntry } from '../../src/domain/timeline.js';
import { type Harness, isFinal, REPO } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';
import { ADD_CHANGELOG, FIX_GREETING } from '../fakes/scripts.js';

const start = harnessPerTest();

type Body = { model: string; messages: ChatMessage[] };
const bodyOf = (m: ScriptedModel, i: number) => m.requests[i]?.body as Body;
const text = (message: ChatMessage | undefined) => JSON.stringify(message?.content ?? '');

/** No request after one the model answered carries the same messages: nothing answered is asked again. */
function askedTwice(m: ScriptedModel): number[] {
  const answered = new Map<string, number>();
  const repeats: number[] = [];
  m.requests.forEach((request, i) => {
    const key = JSON.stringify((request.body as Body).messages);
    if (answered.has(key)) repeats.push(i);
    if (m.answered.has(i)) answered.set(key, i);
  });
  return repeats;
}

/** The task's timeline once it holds the entry that ends the task (written after the status, in the background). */
async function timelineOf(h: Harness, id: string): Promise<TimelineEntry[]> {
  const until = Date.now() + 10_000;
  for (;;) {
    const { body } = await h.get(`/api/tasks/${id}/events?limit=1000`);
    const entries = (body.events as Array<{ entry: TimelineEntry }>).map((e) => e.entry);
    const ended = entries.some((e) => e.type === 'outcome' && ['succeeded', 'failed'].includes(e.status));
    if (ended || Date.now() > until) return entries;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a follow-up in the same conversation', () => {
  it('continues the transcript of the conversation’s last run, with the follow-up as the next message', async () => {
    const h = await start([...FIX_GREETING, ...ADD_CHANGELOG]);

    const first = await h.createTask({ instruction: 'fix greet', conversation: 'c1' });
    await h.waitFor(first.body.id, isFinal);
    const followUp = await h.createTask({ instruction: 'also add a changelog', conversation: 'c1' });
    const second = await h.waitFor(followUp.body.id, isFinal);

    expect(second.status).toBe('succeeded');
    const last = bodyOf(h.model, FIX_GREETING.length - 1).messages;
    const next = bodyOf(h.model, FIX_GREETING.length).messages;
    expect(JSON.stringify(next.slice(0, last.length))).toBe(JSON.stringify(last));
    expect(next.slice(last.length).map((m) => m.role)).toEqual(['assistant', 'tool', 'user']);
    expect(text(next.at(-1))).toContain('also add a changelog');
    expect(text(next[1])).toContain('fix greet');
    const entries = await timelineOf(h, followUp.body.id);
    expect(entries).toContainEqual(expect.objectContaining({ type: 'resumed', from: 'conversation' }));
    expect(h.github.pulls).toHaveLength(1);
  });

  it('starts afresh from the branch when the follow-up asks for a fresh start', async () => {
    const h = await start([...FIX_GREETING, ...ADD_CHANGELOG, ...ADD_CHANGELOG]);

    const first = await h.createTask({ instruction: 'fix greet', conversation: 'c2' });
    await h.waitFor(first.body.id, isFinal);
    const byText = await h.createTask({ instruction: 'fresh: add a changelog', conversation: 'c2' });
    await h.waitFor(byText.body.id, isFinal);
    const byField = await h.createTask({ instruction: 'add it again', conversation: 'c2', fresh: true });
    const third = await h.waitFor(byField.body.id, isFinal);

    expect(third.status).toBe('succeeded');
    for (const at of [FIX_GREETING.length, FIX_GREETING.length + ADD_CHANGELOG.length]) {
      const messages = bodyOf(h.model, at).messages;
      expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
      expect(text(messages[1])).toContain('This is a follow-up: branch');
      expect(text(messages[1])).not.toContain('fix greet');
    }
    expect(text(bodyOf(h.model, FIX_GREETING.length).messages[1])).toContain(
      '<untrusted source=\\"request\\">\\nadd a changelog',
    );
  });
});

describe('choosing a model', () => {
  const models = [
    { name: 'scripted' },
    { name: 'strong', context_window: 200_000, reasoning_effort: 'high' },
  ];

  it('runs on the model the API request names, and shows it in the PR footer', async () => {
    const h = await start(FIX_GREETING, { file: { models } });

    const created = await h.createTask({ instruction: 'fix greet', model: 'strong' });
    const task = await h.waitFor(created.body.id, isFinal);

    expect(task.status).toBe('succeeded');
    expect(h.model.requests.map((r) => (r.body as Body).model)).toEqual([
      'strong',
      'strong',
      'strong',
      'strong',
    ]);
    expect(h.model.requests[0]?.body).toMatchObject({ reasoning_effort: 'high' });
    expect(task.model).toBe('strong');
    expect(h.github.pulls[0]?.body).toContain('<sub>Patchbay · strong · 4 steps');
  });

  it('refuses a name that is not in models:, naming the list', async () => {
    const h = await start(FIX_GREETING, { file: { models } });

    const refused = await h.createTask({ instruction: 'fix greet', model: 'gpt-4-turbo' });

    expect(refused.status).toBe(400);
    const error = (refused.body as unknown as { error: { message: string; hint: string } }).error;
    expect(error.message).toContain('"gpt-4-turbo"');
    expect(error.hint).toContain('`scripted`, `strong`');
    expect(h.model.requests).toHaveLength(0);
  });
});

describe('a retried attempt continues', () => {
  it('after the PR creation failed, redoes only what failed after the agent: no request is asked again', async () => {
    const h = await start(FIX_GREETING);
    // Octokit retries a 502 three times itself: four make the attempt fail.
    h.github.failNext('POST /repos/:owner/:repo/pulls', 502, 4);

    const created = await h.createTask({ instruction: 'fix greet' });
    const task = await h.waitFor(created.body.id, isFinal, 60_000);

    expect(task.status).toBe('succeeded');
    expect(task.attempts).toBe(2);
    expect(h.model.requests).toHaveLength(FIX_GREETING.length);
    expect(askedTwice(h.model)).toEqual([]);
    expect(task.steps).toBe(FIX_GREETING.length);
    expect(task.usage.promptTokens).toBe(FIX_GREETING.length * 1_000);
    expect(h.github.pulls).toHaveLength(1);
    expect(await h.git.readFile(REPO, task.branch ?? '', 'src/greet.js')).toContain('`Hello, ${name}`');
    expect(await timelineOf(h, created.body.id)).toContainEqual(
      expect.objectContaining({ type: 'resumed', from: 'attempt', rerun: 1, finished: true }),
    );
  });
});
