import type { ConversationState } from '../domain/conversation.js';
import type { CheckResult, PullRequestRef, TaskRecord } from '../domain/task.js';
import type { TaskWorkspace } from '../workspace/types.js';

/**
 * How one attempt ended, as a value: recorded in one place (record-outcome.ts) once the clone is gone.
 * A failure is thrown as a PatchbayError instead and recorded by handleAttempt.
 */
export type AttemptOutcome =
  /** The task had ended before the attempt could start (a cancel won the race): nothing to record. */
  | { kind: 'over'; task: TaskRecord }
  | {
      kind: 'succeeded';
      task: TaskRecord;
      /** The conversation's state from now on: its branch, base and pull request. */
      conversation: ConversationState;
      title: string;
      summary: string;
      checks: CheckResult[];
      /** False when the agent changed nothing: then there is no pull request to show. */
      changed: boolean;
      pullRequest?: PullRequestRef;
      /** The commit this attempt pushed, when it changed anything. */
      commit?: { sha: string; files: string[] };
    }
  | { kind: 'waiting'; task: TaskRecord; conversation: ConversationState; question: string };

/** The conversation's state after an attempt of `task` in `clone`: created by its first task. */
export function conversationAfter(
  before: ConversationState | null,
  task: TaskRecord,
  clone: Pick<TaskWorkspace, 'branch' | 'base'>,
  pullRequest: PullRequestRef | undefined,
): ConversationState {
  const state: ConversationState = before ?? {
    id: task.conversation,
    repo: task.request.repo,
    branch: clone.branch,
    beganIn: task.request.replyTo,
  };
  return { ...state, base: clone.base, pullRequest, lastTaskId: task.id };
}
