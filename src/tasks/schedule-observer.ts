import type { Reporter, TaskEvent, TellPlaces } from '../domain/events.js';
import type { ConversationStore } from '../domain/ports.js';
import type { ReplyAddress } from '../domain/reply-address.js';
import { FAILURES_BEFORE_PAUSE, type ScheduleStore, scheduleOf } from '../domain/schedule.js';
import type { Logger } from '../lib/logger.js';

/**
 * Counts how each schedule's runs end (an observer of the event router): a success starts the count
 * of failures in a row again; the third failure in a row pauses the schedule and says so where the
 * run reported (its thread, its pull request). A cancel is a person's decision and counts neither way.
 */
export function createScheduleObserver(deps: {
  state: ScheduleStore;
  audience: (taskId: string) => Promise<ReplyAddress[]>;
  conversations: Pick<ConversationStore, 'get'>;
  tell: TellPlaces;
  log: Logger;
}): Reporter {
  async function ended(event: TaskEvent, name: string): Promise<void> {
    const outcome =
      event.type === 'finished'
        ? 'succeeded'
        : event.type === 'failed' && event.code === 'cancelled'
          ? 'cancelled'
          : 'failed';
    const failures = await deps.state.recordOutcome(name, event.task.id, outcome);
    if (outcome !== 'failed' || failures < FAILURES_BEFORE_PAUSE) return;
    if (!(await deps.state.pause(name, 'failures'))) return;
    deps.log.warn(
      { schedule: name, failures, taskId: event.task.id },
      'schedule paused after failing in a row',
    );
    const places = await placesOf(event);
    await deps.tell(
      places,
      `⏸ Schedule \`${name}\` failed ${failures} times in a row and is paused: no more runs until ` +
        `someone resumes it with \`patchbay schedules resume ${name}\`.`,
    );
  }

  /** Where the run reported, and the schedule's pull request. */
  async function placesOf(event: TaskEvent): Promise<ReplyAddress[]> {
    const places = await deps.audience(event.task.id);
    const pr = (await deps.conversations.get(event.task.conversation))?.pullRequest;
    if (pr) places.push({ kind: 'github-pull', repo: event.task.request.repo, number: pr.number });
    return places;
  }

  return {
    async report(event) {
      if (event.type !== 'finished' && event.type !== 'failed') return;
      const name = scheduleOf(event.task);
      if (name) await ended(event, name);
    },
  };
}
