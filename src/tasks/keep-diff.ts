import type { PullRequestRef, TaskRecord } from '../domain/task.js';
import type { Logger } from '../lib/logger.js';
import type { TaskClone } from '../workspace/types.js';
import { stampOf, type TimelineWriter } from './timeline-writer.js';

/**
 * Hands the timeline what this attempt published: the pull request, and the diff as a reviewer reads
 * it (from the base to what the task pushed; the work so far at a question). Reading the diff runs
 * git in the clone, so this comes before the clone is gone; failing to read it never fails the task.
 */
export async function keepDiff(
  attempt: { deps: { timeline: TimelineWriter }; log: Logger },
  task: TaskRecord,
  clone: TaskClone,
  published?: { pullRequest?: PullRequestRef; created?: boolean },
): Promise<void> {
  const { timeline } = attempt.deps;
  if (published?.pullRequest) {
    const { at, run } = stampOf(task);
    timeline.add(task.id, {
      type: 'pull_request',
      at,
      run,
      pullRequest: published.pullRequest,
      created: published.created ?? false,
    });
  }
  try {
    timeline.diff(task.id, await clone.diff());
  } catch (err) {
    attempt.log.warn({ err: (err as Error).message }, 'could not read the diff for the timeline');
  }
}
