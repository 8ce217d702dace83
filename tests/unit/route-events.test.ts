import { describe, expect, it } from 'vitest';
import type { PlaceReporter, Reporter, TaskEvent } from '../../src/domain/events.js';
import type { ReplyAddress } from '../../src/domain/reply-address.js';
import { newTaskRecord } from '../../src/domain/task.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createMemoryTaskStore } from '../../src/tasks/memory-stores.js';
import { createEventRouter } from '../../src/tasks/route-events.js';

const thread: ReplyAddress = { kind: 'slack-thread', team: 'T1', channel: 'C1', threadTs: '1.1' };
const session: ReplyAddress = { kind: 'linear-session', sessionId: 's1', issueId: 'i1' };
const issue: ReplyAddress = { kind: 'linear-issue', issueId: 'i1' };

const task = newTaskRecord('t1', {
  repo: 'acme/web',
  instruction: 'x',
  conversation: 'linear:i1',
  origin: { source: 'linear', label: 'Linear ENG-1' },
});
const stage = (s: 'clone' | 'agent'): TaskEvent => ({ type: 'stage', task, stage: s });

function recorder(kinds: PlaceReporter['kinds'], fail = false) {
  const calls: Array<{ event: string; places: ReplyAddress[] }> = [];
  const reporter: PlaceReporter = {
    kinds,
    async report(event, places) {
      calls.push({ event: event.type, places });
      if (fail) throw new Error('down');
    },
  };
  return { reporter, calls };
}

function fallbackRecorder() {
  const events: string[] = [];
  const reporter: Reporter = { report: async (e) => void events.push(e.type) };
  return { reporter, events };
}

describe('the event router', () => {
  it('gives each reporter all of its places of the task at once, and a place that joined the rest', async () => {
    const store = createMemoryTaskStore();
    await store.create(task, [session]);
    const linear = recorder(['linear-session', 'linear-issue']);
    const slack = recorder(['slack-thread']);
    const fallback = fallbackRecorder();
    const router = createEventRouter({
      audience: (id) => store.audience(id),
      places: [linear.reporter, slack.reporter],
      fallback: fallback.reporter,
      log: createSilentLogger(),
    });

    await router.report(stage('clone'));
    await store.join('t1', issue);
    await store.join('t1', thread);
    await router.report(stage('agent'));

    expect(linear.calls).toEqual([
      { event: 'stage', places: [session] },
      { event: 'stage', places: [session, issue] },
    ]);
    expect(slack.calls).toEqual([{ event: 'stage', places: [thread] }]);
    expect(fallback.events).toEqual([]);
  });

  it('sends the events of a task no place hears about to the fallback, or its source’s own reporter', async () => {
    const store = createMemoryTaskStore();
    await store.create(task, []);
    const fallback = fallbackRecorder();
    const linearTasks = fallbackRecorder();
    const router = createEventRouter({
      audience: (id) => store.audience(id),
      places: [recorder(['slack-thread']).reporter],
      fallback: fallback.reporter,
      bySource: { api: fallbackRecorder().reporter },
      log: createSilentLogger(),
    });
    const bySource = createEventRouter({
      audience: (id) => store.audience(id),
      places: [],
      fallback: fallback.reporter,
      bySource: { linear: linearTasks.reporter },
      log: createSilentLogger(),
    });

    await router.report(stage('clone'));
    await bySource.report(stage('agent'));

    expect(fallback.events).toEqual(['stage']);
    expect(linearTasks.events).toEqual(['stage']);
  });

  it('gives every event to the observers too, whoever else hears it', async () => {
    const observer = fallbackRecorder();
    const slack = recorder(['slack-thread']);
    const router = createEventRouter({
      audience: async () => [thread],
      places: [slack.reporter],
      fallback: fallbackRecorder().reporter,
      observers: [observer.reporter],
      log: createSilentLogger(),
    });

    await router.report(stage('clone'));

    expect(slack.calls).toHaveLength(1);
    expect(observer.events).toEqual(['stage']);
  });

  it('never fails the task when a reporter or the audience read fails, and still tells the others', async () => {
    const failing = recorder(['linear-session'], true);
    const slack = recorder(['slack-thread']);
    const router = createEventRouter({
      audience: async () => [session, thread],
      places: [failing.reporter, slack.reporter],
      fallback: fallbackRecorder().reporter,
      log: createSilentLogger(),
    });
    const fallback = fallbackRecorder();
    const unreadable = createEventRouter({
      audience: async () => {
        throw new Error('redis is down');
      },
      places: [slack.reporter],
      fallback: fallback.reporter,
      log: createSilentLogger(),
    });

    await expect(router.report(stage('clone'))).resolves.toBeUndefined();
    await expect(unreadable.report(stage('agent'))).resolves.toBeUndefined();

    expect(failing.calls).toHaveLength(1);
    expect(slack.calls).toEqual([{ event: 'stage', places: [thread] }]);
    expect(fallback.events).toEqual(['stage']);
  });
});
