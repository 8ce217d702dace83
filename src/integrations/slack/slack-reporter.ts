import type { FileConfig } from '../../config/file-schema.js';
import type { TaskPageUrl } from '../../config/task-page-links.js';
import type { PlaceReporter, TaskEvent, TaskStage } from '../../domain/events.js';
import type { KeyValueStore } from '../../domain/ports.js';
import type { SlackThreadAddress } from '../../domain/reply-address.js';
import { type Clock, systemClock } from '../../lib/clock.js';
import { settleWithin } from '../../lib/deadline.js';
import type { Logger } from '../../lib/logger.js';
import { createThrottledEdits, type ThrottledEdits } from '../../lib/throttled-edits.js';
import { DAY_SECONDS, kvKeys } from './slack-keys.js';
import { endedText, progressText, resultText } from './slack-text.js';
import { type Thread, type ThreadActions, threadOf } from './slack-thread.js';

export interface SlackReporterDeps {
  actions: ThreadActions;
  kv: KeyValueStore;
  budget: FileConfig['budget'];
  retentionDays: number;
  log: Logger;
  /** At most one edit of a status message per this many ms (default 3 s); the latest state wins. */
  editIntervalMs?: number;
  /** How long a final report may hold up the task (default 15 s); the rest goes on in the background. */
  finalWaitMs?: number;
  clock?: Clock;
  /** The task's page, linked from the status message (none without PATCHBAY_PUBLIC_URL). */
  pageUrl?: TaskPageUrl;
}

interface RunState {
  thread: Thread;
  /** The message that asked: it gets ✅, ❌ or 🛑 at the end. */
  messageTs: string | undefined;
  key: string;
  stage: TaskStage;
  ts?: string;
  status: ThrottledEdits;
  /** Every Slack call of this run, in order: edits never overtake each other or the final reply. */
  chain: Promise<void>;
}

export interface SlackReporter extends PlaceReporter {
  /** Resolves once every Slack call queued so far was made (or failed); edits waiting for their slot wait on. */
  settled(): Promise<void>;
  /** Drops the edits waiting for their slot, then resolves once every queued Slack call was made (or failed). */
  idle(): Promise<void>;
}

const REACTION: Record<'finished' | 'failed' | 'cancelled', string> = {
  finished: 'white_check_mark',
  failed: 'x',
  cancelled: 'octagonal_sign',
};

/**
 * Renders a Slack task's events in its thread, in the worker process. One status message per run is
 * posted on start and edited in place, at most once per `editIntervalMs` (chat.update is rate
 * limited; a long run must stay under it); its ts is kept in the key-value store so that another
 * worker picking the task up edits the same message. Progress never waits for Slack; the final
 * edit, the result reply and the reaction are awaited for a while, and never throw.
 */
export function createSlackReporter(deps: SlackReporterDeps): SlackReporter {
  const clock = deps.clock ?? systemClock;
  const runs = new Map<string, RunState>();
  const inFlight = new Set<Promise<void>>();
  const log = deps.log;

  function enqueue(run: RunState, work: () => Promise<void>, what: string): Promise<void> {
    run.chain = run.chain
      .then(work)
      .catch((err: Error) => log.warn({ what, err: err.message }, 'slack update failed'));
    const tracked = run.chain;
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
    return tracked;
  }

  /** Posts the run's status message, or edits it once its ts is known (here or in another worker). */
  async function show(run: RunState, text: string): Promise<void> {
    run.ts ??= (await deps.kv.get(run.key)) ?? undefined;
    if (run.ts) {
      await deps.actions.update(run.thread, run.ts, text);
      return;
    }
    run.ts = await deps.actions.post(run.thread, text);
    await deps.kv.set(run.key, run.ts, deps.retentionDays * DAY_SECONDS);
  }

  const runId = (event: TaskEvent, thread: Thread) =>
    `${event.task.id}.${event.task.runs}:${thread.channel}:${thread.threadTs}`;

  function runOf(event: TaskEvent, place: SlackThreadAddress): RunState {
    const thread = threadOf(place);
    const existing = runs.get(runId(event, thread));
    if (existing) return existing;
    const run: RunState = {
      thread,
      messageTs: place.messageTs,
      key: kvKeys.status(event.task.id, event.task.runs, thread),
      stage: 'clone',
      chain: Promise.resolve(),
      status: createThrottledEdits({
        send: (text) => show(run, text),
        enqueue: (work) => enqueue(run, work, 'status'),
        intervalMs: deps.editIntervalMs ?? 3_000,
        clock,
        log,
      }),
    };
    runs.set(runId(event, thread), run);
    return run;
  }

  async function end(run: RunState, event: TaskEvent): Promise<void> {
    void run.status.final(endedText(event, deps.budget, Date.now(), deps.pageUrl?.(event.task.id)));
    void enqueue(run, () => deps.actions.post(run.thread, resultText(event)).then(() => undefined), 'reply');
    const messageTs = run.messageTs;
    if (event.type !== 'question' && messageTs) {
      const cancelled = event.type === 'failed' && event.code === 'cancelled';
      const outcome = event.type === 'finished' ? 'finished' : cancelled ? 'cancelled' : 'failed';
      void enqueue(run, () => deps.actions.react(run.thread, messageTs, REACTION[outcome]), 'reaction');
    }
    const session = event.type === 'question' ? 'active' : 'closed';
    const done = enqueue(run, () => deps.actions.setSession(run.thread, session), 'agent session');
    runs.delete(runId(event, run.thread));
    await settleWithin(done, deps.finalWaitMs ?? 15_000, clock);
  }

  async function reportAt(event: TaskEvent, run: RunState): Promise<void> {
    switch (event.type) {
      case 'accepted':
        return;
      case 'started':
        run.stage = event.stage;
        void enqueue(run, () => deps.actions.setSession(run.thread, 'processing'), 'agent session');
        break;
      case 'stage':
        run.stage = event.stage;
        break;
      case 'step':
        run.status.update(
          progressText(
            event.task,
            { stage: run.stage, step: event.step },
            deps.budget,
            Date.now(),
            deps.pageUrl?.(event.task.id),
          ),
        );
        return;
      default:
        await end(run, event);
        return;
    }
    run.status.update(
      progressText(event.task, { stage: run.stage }, deps.budget, Date.now(), deps.pageUrl?.(event.task.id)),
    );
  }

  async function settled(): Promise<void> {
    while (inFlight.size) await Promise.allSettled([...inFlight]);
  }

  return {
    kinds: ['slack-thread'],
    async report(event, places) {
      const threads = places.filter((p): p is SlackThreadAddress => p.kind === 'slack-thread');
      await Promise.all(threads.map((place) => reportAt(event, runOf(event, place))));
    },
    settled,
    async idle() {
      for (const run of runs.values()) run.status.stop();
      await settled();
    },
  };
}
