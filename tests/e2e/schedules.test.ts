import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { CronExpressionParser } from 'cron-parser';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScriptedTurn } from '../../src/demo/scripted-model.js';
import { runSchedulesCommand } from '../../src/schedules-command.js';
import { type Harness, isFinal, logged, REPO, startHarness } from '../fakes/harness.js';
import { createManualClock } from '../fakes/manual-clock.js';
import { REDIS_URL } from '../fakes/redis.js';
import { ADD_CHANGELOG, FIX_GREETING } from '../fakes/scripts.js';
import { slackPerTest } from '../fakes/slack-per-test.js';
import { eventually } from '../fakes/slack-requests.js';
import { spawnCli } from '../fakes/worker-process.js';

const DEPS = {
  name: 'deps',
  cron: '0 3 * * *',
  timezone: 'UTC',
  repository: REPO,
  instruction: 'Fix what is broken in greet()',
};
const DAY = 86_400_000;
const T1 = Date.parse('2026-11-20T03:00:00Z');

let h: Harness | undefined;
const children: ChildProcess[] = [];
const queues: Queue[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const queue of queues.splice(0)) await queue.close();
  await h?.close();
  h = undefined;
});

/** `patchbay worker` in a process of its own, its log lines parsed as they come. */
function spawnWorker(env: Record<string, string>) {
  const child = spawnCli('worker', env);
  children.push(child);
  return { child, lines: child.logged, said: child.said };
}

/** The automations' queue of a harness, as a test reads it with BullMQ itself. */
function automationsOf(harness: Harness): Queue {
  const queue = new Queue(`${harness.workerProcessEnv.PATCHBAY_QUEUE}-automations`, {
    connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
  });
  queues.push(queue);
  return queue;
}

/** `patchbay schedules …` against the harness's Redis and patchbay.yml; what it printed. */
async function schedulesCommand(harness: Harness, args: string[], config?: string): Promise<string> {
  let out = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  });
  const env = { ...harness.workerProcessEnv, ...(config ? { PATCHBAY_CONFIG: config } : {}) };
  await runSchedulesCommand(args, { env, out: sink });
  return out;
}

const scheduleTasks = async (harness: Harness) =>
  (await harness.get('/api/tasks?source=schedule')).body.tasks as Array<{ id: string }>;

describe('scheduled tasks', () => {
  it('starts one task per tick with two worker processes running, whatever takes the tick', async () => {
    h = await startHarness({ script: FIX_GREETING, worker: false, file: { schedules: [DEPS] } });
    const workers = [spawnWorker(h.workerProcessEnv), spawnWorker(h.workerProcessEnv)];
    await eventually(() => workers.every((w) => w.said('worker started').length > 0), 30_000, 'workers');
    const queue = automationsOf(h);
    const due = (await queue.getJobScheduler('deps'))?.next ?? 0;
    const ticksQueued = () => workers.flatMap((w) => w.said('schedule tick queued'));

    await (await queue.getJob(`repeat:deps:${due}`))?.promote();
    const [task] = await eventually(() => scheduleTasks(h as Harness).then((t) => (t.length ? t : null)));
    const done = await h.waitFor(task?.id ?? '', isFinal, 60_000);
    // The same tick once more, as a second scheduler or a retried job would bring it.
    await queue.add('schedule', { schedule: 'deps', tick: due }, { jobId: 'the-same-tick-again' });
    await eventually(() => ticksQueued().length === 2, 30_000, 'the second look at the tick');

    expect(due).toBe(CronExpressionParser.parse(DEPS.cron, { tz: 'UTC' }).next().getTime());
    expect(done.status).toBe('succeeded');
    // Either worker may take either look at the tick: the lines are gathered per worker, not in time.
    expect(
      ticksQueued()
        .map((l) => [l.taskId, l.kind])
        .sort(),
    ).toEqual([
      [done.id, 'duplicate'],
      [done.id, 'new'],
    ]);
    expect(await scheduleTasks(h)).toHaveLength(1);
    expect(h.github.pulls).toHaveLength(1);
    expect((await queue.getJobScheduler('deps'))?.next).toBe(due + DAY);
  });

  it('keeps one conversation and PR on the next tick, and opens a new one after the PR was merged', async () => {
    h = await startHarness({
      script: [...FIX_GREETING, ...ADD_CHANGELOG, ...FIX_GREETING],
      file: { schedules: [DEPS] },
    });
    const clock = createManualClock(T1);
    const tick = async (at: number) => {
      const outcome = await (h as Harness).patchbay.scheduleTick({ name: 'deps', at }, clock);
      if (outcome.kind !== 'queued') throw new Error(`tick skipped: ${outcome.reason}`);
      return (h as Harness).waitFor(outcome.task.id, isFinal);
    };

    const first = await tick(T1);
    const second = await tick(T1 + DAY);
    const [opened] = h.github.pulls;
    if (opened) Object.assign(opened, { state: 'closed', merged: true });
    const third = await tick(T1 + 2 * DAY);

    expect([first.status, second.status, third.status]).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect([first.conversation, second.conversation, third.conversation]).toEqual([
      'schedule:deps:1',
      'schedule:deps:1',
      'schedule:deps:2',
    ]);
    expect(second.pullRequest).toEqual(first.pullRequest);
    expect(second.branch).toBe(first.branch);
    expect(third.branch).not.toBe(first.branch);
    expect(third.pullRequest?.number).not.toBe(first.pullRequest?.number);
    expect(h.github.pulls).toHaveLength(2);
    expect(h.github.pulls[1]?.body).toContain('**Started on a schedule:** Schedule deps');
    expect((await h.get(`/api/tasks/${third.id}`)).body.origin).toEqual({
      source: 'schedule',
      label: 'Schedule deps',
    });
    const page = await fetch(`${h.base}/tasks/${third.id}`, {
      headers: { authorization: `Bearer ${h.secrets.apiToken}` },
    });
    expect(await page.text()).toContain('<span class="fact" title="Schedule">Schedule deps</span>');
  });
});

describe('a scheduled run that asks a question', () => {
  it('is not answered by the next tick: that tick is skipped', async () => {
    h = await startHarness({
      script: [{ tool: 'ask_user', args: { question: 'Major versions too?' } }],
      file: { schedules: [DEPS] },
    });
    const clock = createManualClock(T1);

    const first = await h.patchbay.scheduleTick({ name: 'deps', at: T1 }, clock);
    const asked =
      first.kind === 'queued'
        ? await h.waitFor(first.task.id, (t) => t.status !== 'queued' && t.status !== 'running')
        : undefined;
    const second = await h.patchbay.scheduleTick({ name: 'deps', at: T1 + DAY }, clock);

    expect(asked?.status).toBe('waiting_for_input');
    expect(second).toEqual({ kind: 'skipped', reason: `task ${asked?.id} waits for an answer` });
    expect(await scheduleTasks(h)).toHaveLength(1);
  });
});

describe('scheduled tasks that fail', () => {
  const startSlack = slackPerTest();
  /** Each failing run spends its one step, then its budget stops it. */
  const FAILS: ScriptedTurn = { tool: 'bash', args: { command: 'true' } };
  const FINISHES: ScriptedTurn = {
    tool: 'finish',
    args: { title: 'Nothing to do', summary: 'All fine today.' },
  };

  it("pause after three failures in a row, saying so in the run's thread; resume runs again", async () => {
    const { h: harness, slack } = await startSlack([FAILS, FAILS, FAILS, FINISHES], {
      file: { schedules: [{ ...DEPS, slack_channel: 'C0GENERAL', budget: { steps: 1 } }] },
    });
    const clock = createManualClock(T1);
    const tick = (day: number) => harness.patchbay.scheduleTick({ name: 'deps', at: T1 + day * DAY }, clock);
    const threads = () => slack.callsTo('chat.postMessage').filter((c) => !c.args.thread_ts);
    const runs: string[] = [];

    for (const day of [0, 1, 2]) {
      const outcome = await tick(day);
      if (outcome.kind !== 'queued') throw new Error('tick skipped');
      runs.push((await harness.waitFor(outcome.task.id, isFinal)).status);
    }
    const thirdThread = String(threads()[2]?.result?.ts);
    const notice = await eventually(() =>
      slack
        .callsTo('chat.postMessage')
        .find((c) => c.args.thread_ts === thirdThread && c.args.text?.startsWith('⏸')),
    );
    const listedPaused = await schedulesCommand(harness, []);
    const whilePaused = await tick(3);
    const resumed = await schedulesCommand(harness, ['resume', 'deps']);
    const afterResume = await tick(4);
    const last =
      afterResume.kind === 'queued' ? await harness.waitFor(afterResume.task.id, isFinal) : undefined;
    const reactions = () => slack.callsTo('reactions.add').map((c) => [c.args.timestamp, c.args.name]);
    const lastThread = String(threads()[3]?.result?.ts);
    await eventually(() =>
      reactions().some(([ts, name]) => ts === lastThread && name === 'white_check_mark'),
    );

    expect(runs).toEqual(['failed', 'failed', 'failed']);
    expect(notice.args.text).toBe(
      '⏸ Schedule `deps` failed 3 times in a row and is paused: no more runs until someone resumes it with `patchbay schedules resume deps`.',
    );
    expect(whilePaused).toEqual({ kind: 'skipped', reason: 'paused (failures)' });
    expect(listedPaused).toContain('paused after failing in a row');
    expect(resumed).toBe('Resumed deps.\n');
    expect(last?.status).toBe('succeeded');
    expect(threads()).toHaveLength(4);
    expect(threads()[0]?.args.text).toBe(
      '⏰ Scheduled run of `deps` on `acme/web`: Fix what is broken in greet()',
    );
    expect(threads().map((t) => t.args.channel)).toEqual([
      'C0GENERAL',
      'C0GENERAL',
      'C0GENERAL',
      'C0GENERAL',
    ]);
    expect(reactions()).toEqual([
      [String(threads()[0]?.result?.ts), 'x'],
      [String(threads()[1]?.result?.ts), 'x'],
      [thirdThread, 'x'],
      [lastThread, 'white_check_mark'],
    ]);
    expect(await schedulesCommand(harness, [])).toMatch(/deps .* succeeded \(t\w+\)\s+active\n$/);
  });
});

describe('schedules and patchbay.yml', () => {
  it('reconciles the job schedulers with an edited file at start-up: changed, added, removed', async () => {
    const DOCS = { ...DEPS, name: 'docs', cron: '0 9 * * 1', instruction: 'Update the docs' };
    h = await startHarness({ script: [], worker: false, file: { schedules: [DEPS, DOCS] } });
    const queue = automationsOf(h);
    const before = await queue.getJobSchedulers(0, -1, true);
    await schedulesCommand(h, ['pause', 'docs']);
    const edited = join(h.dir, 'patchbay-edited.yml');
    const lint = { ...DEPS, name: 'lint', cron: '15 6 * * 1-5', instruction: 'Fix the lint warnings' };
    const moved = { ...DEPS, cron: '30 4 * * 1', timezone: 'Europe/Berlin' };
    await writeFile(edited, JSON.stringify({ repositories: [{ name: REPO }], schedules: [moved, lint] }));
    const listedBefore = await schedulesCommand(h, [], edited);

    const worker = spawnWorker({ ...h.workerProcessEnv, PATCHBAY_CONFIG: edited });
    const [reconciled] = await eventually(() => {
      const lines = worker.said('schedules reconciled with patchbay.yml');
      return lines.length ? lines : null;
    }, 30_000);
    const after = await queue.getJobSchedulers(0, -1, true);
    const redis = new Redis(REDIS_URL);
    const docsState = await redis.exists(`${h.workerProcessEnv.PATCHBAY_REDIS_PREFIX}schedule:{docs}`);
    redis.disconnect();

    expect(before.map((s) => [s.key, s.pattern, s.tz])).toEqual(
      expect.arrayContaining([
        ['deps', '0 3 * * *', 'UTC'],
        ['docs', '0 9 * * 1', 'UTC'],
      ]),
    );
    expect(logged(h, 'schedules reconciled with patchbay.yml')).toHaveLength(1);
    expect(listedBefore).toContain('patchbay.yml changed: applied at the next start');
    expect(listedBefore).toContain('not in patchbay.yml: removed at the next start');
    expect(reconciled).toMatchObject({ changed: ['deps', 'lint'], removed: ['docs'] });
    expect(after.map((s) => [s.key, s.pattern, s.tz]).sort()).toEqual([
      ['deps', '30 4 * * 1', 'Europe/Berlin'],
      ['lint', '15 6 * * 1-5', 'UTC'],
    ]);
    const deps = after.find((s) => s.key === 'deps');
    expect(deps?.next).toBe(CronExpressionParser.parse(moved.cron, { tz: moved.timezone }).next().getTime());
    expect(docsState).toBe(0);
    const listed = await schedulesCommand(h, [], edited);
    expect(listed).not.toContain('docs');
    expect(listed).not.toContain('changed');
  });
});
