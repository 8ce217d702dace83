import type { StepInfo, TaskEvent, TaskStage } from '../../domain/events.js';
import type { TaskRecord } from '../../domain/task.js';
import { type CancelTimer, type Clock, systemClock } from '../../lib/clock.js';
import { finalContent, stepsToAction } from './activity-content.js';
import type { LinearApi } from './linear-api.js';
import type { CallChain, LinearSink } from './linear-sink.js';
import { toPostId } from './linear-targets.js';
import { toPlan } from './session-plan.js';

/**
 * An agent session: the agent's steps as `action` activities, at most one per `actionIntervalMs`
 * (the steps in between coalesced into one), the plan updated as the stages advance, and at the end
 * a `response`, `elicitation` or `error` activity, the final plan and the pull request as the
 * session's external URL (the task's page until then, when Patchbay has a public URL).
 */
export function createSessionSink(deps: {
  sessionId: string;
  task: TaskRecord;
  api: Pick<LinearApi, 'postActivity' | 'updateSession'>;
  chain: CallChain;
  actionIntervalMs: number;
  clock?: Clock;
  /** The task's page: the session's external link until the pull request exists. */
  pageUrl?: string;
}): LinearSink {
  const { sessionId, api, chain, task } = deps;
  const clock = deps.clock ?? systemClock;
  const idOf = (what: string) => toPostId(task, { kind: 'linear-session', sessionId }, what);
  /** The attempt the latest event came from: a retry in the same worker keeps this sink. */
  let attempt = task.attempts;
  const steps: StepInfo[] = [];
  let lastActionAt = 0;
  let cancelTimer: CancelTimer | undefined;
  let planned: string | undefined;
  let linked = false;

  function flushSteps(): void {
    cancelTimer?.();
    cancelTimer = undefined;
    const batch = steps.splice(0);
    const action = stepsToAction(batch);
    if (!action) return;
    lastActionAt = clock.now();
    // A retried attempt runs its steps again: they are new work, so the attempt is in the id.
    const id = idOf(`action:${attempt}:${batch[0]?.step}-${batch.at(-1)?.step}`);
    void chain.run('activity action', () => api.postActivity(sessionId, action, id));
  }

  function schedule(): void {
    if (cancelTimer) return;
    const wait = lastActionAt + deps.actionIntervalMs - clock.now();
    if (wait <= 0) {
      flushSteps();
      return;
    }
    cancelTimer = clock.setTimer(flushSteps, wait);
  }

  function plan(stage: TaskStage, phase: 'running' | 'finished' | 'failed', event?: TaskEvent) {
    const pr = event?.type === 'finished' ? event.pullRequest : undefined;
    const steps = toPlan(stage, phase, { pullRequest: Boolean(pr) });
    const key = JSON.stringify(steps);
    if (key === planned && !pr) return Promise.resolve();
    planned = key;
    const page = deps.pageUrl ? [{ label: 'Task page', url: deps.pageUrl }] : [];
    const externalUrls = pr
      ? [{ label: `Pull request #${pr.number}`, url: pr.url }, ...page]
      : !linked && page.length
        ? page
        : undefined;
    linked = linked || Boolean(externalUrls);
    return chain.run('session plan', () =>
      api.updateSession(sessionId, externalUrls ? { plan: steps, externalUrls } : { plan: steps }),
    );
  }

  return {
    flush: flushSteps,
    progress(event, stage) {
      attempt = event.task.attempts;
      if (event.type === 'step') {
        steps.push(event.step);
        schedule();
        return;
      }
      flushSteps();
      void plan(stage, 'running');
    },
    async end(event, stage) {
      flushSteps();
      const content = finalContent(event);
      const posted = content
        ? chain.run(`activity ${content.type}`, () => api.postActivity(sessionId, content, idOf(event.type)))
        : null;
      if (event.type === 'question') {
        await posted;
        return;
      }
      const planUpdated = plan(stage, event.type === 'finished' ? 'finished' : 'failed', event);
      await Promise.all([posted, planUpdated]);
    },
  };
}
