import type { FileConfig } from '../../config/file-schema.js';
import type { PlaceReporter, TaskEvent, TaskStage } from '../../domain/events.js';
import type { KeyValueStore } from '../../domain/ports.js';
import type { SlackThreadAddress } from '../../domain/reply-address.js';
import type { Logger } from '../../lib/logger.js';
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
}

interface RunState {
  thread: Thread;
  /** The message that asked: it gets ✅, ❌ or 🛑 at the end. */
  messageTs: string | undefined;
  key: string;
  stage: TaskStage;
  ts?: string;
  pending?: string;
  sent?: string;
  lastEditAt: number;
  timer?: NodeJS.Timeout;
  queued: boolean;
  /** The final state is queued: no more progress edits. */
  ended?: boolean;
  failures: number;
  /** Every Slack call of this run, in order: edits never overtake each other or the final reply. */
  chain: Promise<void>;
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
export function createSlackReporter(deps: SlackReporterDeps): PlaceReporter & { idle(): Promise<void> } {
  const interval = deps.editIntervalMs ?? 3_000;
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

  async function flush(run: RunState): Promise<void> {
    try {
      const text = run.pending;
      if (text === undefined || text === run.sent) return;
      run.ts ??= (await deps.kv.get(run.key)) ?? undefined;
      if (run.ts) await deps.actions.update(run.thread, run.ts, text);
      else {
        run.ts = await deps.actions.post(run.thread, text);
        await deps.kv.set(run.key, run.ts, deps.retentionDays * DAY_SECONDS);
      }
      run.sent = text;
      run.lastEditAt = Date.now();
      run.failures = 0;
    } catch (err) {
      run.failures += 1;
      run.lastEditAt = Date.now();
      throw err;
    } finally {
      // Updates that came in meanwhile wait for the next slot; `queued` kept them from piling up. A
      // message that keeps failing (deleted, channel archived) is left alone until the final state.
      run.queued = false;
      if (run.pending !== run.sent && !run.ended && run.failures < 3) schedule(run);
    }
  }

  function schedule(run: RunState): void {
    if (run.queued || run.timer) return;
    const wait = run.lastEditAt + interval - Date.now();
    if (wait <= 0 || !run.sent) {
      run.queued = true;
      void enqueue(run, () => flush(run), 'status');
      return;
    }
    run.timer = setTimeout(() => {
      run.timer = undefined;
      run.queued = true;
      void enqueue(run, () => flush(run), 'status');
    }, wait);
    run.timer.unref();
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
      lastEditAt: 0,
      queued: false,
      failures: 0,
      chain: Promise.resolve(),
    };
    runs.set(runId(event, thread), run);
    return run;
  }

  async function end(run: RunState, event: TaskEvent): Promise<void> {
    if (run.timer) clearTimeout(run.timer);
    run.timer = undefined;
    run.ended = true;
    run.pending = endedText(event, deps.budget);
    void enqueue(run, () => flush(run), 'status');
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
    await Promise.race([done, new Promise((r) => setTimeout(r, deps.finalWaitMs ?? 15_000).unref())]);
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
        run.pending = progressText(event.task, { stage: run.stage, step: event.step }, deps.budget);
        schedule(run);
        return;
      default:
        await end(run, event);
        return;
    }
    run.pending = progressText(event.task, { stage: run.stage }, deps.budget);
    schedule(run);
  }

  return {
    kinds: ['slack-thread'],
    async report(event, places) {
      const threads = places.filter((p): p is SlackThreadAddress => p.kind === 'slack-thread');
      await Promise.all(threads.map((place) => reportAt(event, runOf(event, place))));
    },
    /** Resolves once every queued Slack call has been made (or has failed). */
    async idle() {
      for (const run of runs.values()) if (run.timer) clearTimeout(run.timer);
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
