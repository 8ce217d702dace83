import type { Reporter, StepInfo, TaskEvent } from '../../domain/events.js';
import type { Logger } from '../../lib/logger.js';
import { finalContent, stepsToAction } from './activity-content.js';
import type { ActivityContent, LinearApi } from './linear-api.js';

export interface LinearReporterDeps {
  api: Pick<LinearApi, 'postActivity'>;
  log: Logger;
  /** At most one `action` activity per this many ms (default 5 s); the steps in between are one. */
  actionIntervalMs?: number;
  /** How long a final activity may hold up the task (default 15 s); the rest goes on in the background. */
  finalWaitMs?: number;
}

interface RunState {
  sessionId: string;
  steps: StepInfo[];
  lastActionAt: number;
  timer?: NodeJS.Timeout;
  /** Every call of this run, in order: an action never lands after the response. */
  chain: Promise<void>;
}

/**
 * Renders a Linear task's events as activities of its agent session, in the worker process: the
 * agent's steps as coalesced `action`s, its question as an `elicitation`, the end as a `response` with
 * the pull request (or an `error`). The first `thought` is posted by the webhook handler, right after
 * queueing. Posting never fails the task: errors are logged and the run goes on.
 */
export function createLinearReporter(deps: LinearReporterDeps): Reporter & { idle(): Promise<void> } {
  const interval = deps.actionIntervalMs ?? 5_000;
  const runs = new Map<string, RunState>();
  const inFlight = new Set<Promise<void>>();

  function enqueue(run: RunState, content: ActivityContent): Promise<void> {
    run.chain = run.chain
      .then(() => deps.api.postActivity(run.sessionId, content))
      .catch((err: Error) =>
        deps.log.warn({ type: content.type, err: err.message }, 'linear activity not posted'),
      );
    const tracked = run.chain;
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
    return tracked;
  }

  function flushSteps(run: RunState): void {
    if (run.timer) clearTimeout(run.timer);
    run.timer = undefined;
    const action = stepsToAction(run.steps.splice(0));
    if (!action) return;
    run.lastActionAt = Date.now();
    void enqueue(run, action);
  }

  function schedule(run: RunState): void {
    if (run.timer) return;
    const wait = run.lastActionAt + interval - Date.now();
    if (wait <= 0) {
      flushSteps(run);
      return;
    }
    run.timer = setTimeout(() => flushSteps(run), wait);
    run.timer.unref();
  }

  function runOf(event: TaskEvent): { id: string; run: RunState } | null {
    const id = `${event.task.id}.${event.task.runs}`;
    const existing = runs.get(id);
    if (existing) return { id, run: existing };
    const sessionId = event.task.request.origin.ref.sessionId;
    if (!sessionId) return null;
    const run: RunState = { sessionId, steps: [], lastActionAt: 0, chain: Promise.resolve() };
    runs.set(id, run);
    return { id, run };
  }

  return {
    async report(event) {
      if (event.type === 'accepted') return;
      const found = runOf(event);
      if (!found) return;
      const { id, run } = found;
      if (event.type === 'step') {
        run.steps.push(event.step);
        schedule(run);
        return;
      }
      if (event.type === 'started' || event.type === 'stage') {
        flushSteps(run);
        return;
      }
      flushSteps(run);
      const content = finalContent(event);
      runs.delete(id);
      if (!content) return;
      const done = enqueue(run, content);
      await Promise.race([done, new Promise((r) => setTimeout(r, deps.finalWaitMs ?? 15_000).unref())]);
    },
    /** Resolves once every queued Linear call has been made (or has failed). */
    async idle() {
      for (const run of runs.values()) flushSteps(run);
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
