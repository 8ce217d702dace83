import type { LinearIssueAddress, LinearSessionAddress } from '../../domain/reply-address.js';
import type { TaskRecord } from '../../domain/task.js';
import { toStableUuid } from '../../lib/ids.js';

/**
 * Where a task's progress is shown in Linear: an agent session (activities, plan) or, in assignment
 * mode, the issue itself (one progress comment per run, the result in a reply). Each is a reply
 * address of the task's audience.
 */
export type LinearTarget = LinearSessionAddress | LinearIssueAddress;

export const targetKeys = {
  progress: (taskId: string, run: number) => `progress:${taskId}.${run}`,
};

/**
 * The ids Patchbay gives what a run posts (Linear's create inputs take a client-chosen UUID): the same
 * task, run and place give the same id, so a worker that retries after a crash, or a call retried
 * after its answer was lost, makes no second comment or activity. `what` names the post in the run.
 */
export function toPostId(
  task: Pick<TaskRecord, 'id' | 'runs'>,
  target: PlaceId | LinearTarget,
  what: string,
): string {
  return toStableUuid(`linear:${task.id}.${task.runs}:${targetId(target)}:${what}`);
}

/** What names a place in the ids of its posts. */
type PlaceId =
  | Pick<LinearSessionAddress, 'kind' | 'sessionId'>
  | Pick<LinearIssueAddress, 'kind' | 'issueId'>;

export function targetId(target: PlaceId): string {
  return target.kind === 'linear-session' ? `session:${target.sessionId}` : `issue:${target.issueId}`;
}

export function isLinearTarget(place: { kind: string }): place is LinearTarget {
  return place.kind === 'linear-session' || place.kind === 'linear-issue';
}
