import type { ConversationState } from '../domain/conversation.js';
import type { TaskRecord } from '../domain/task.js';
import type { TaskClone } from '../workspace/types.js';

/** Earlier work in the conversation, so that a follow-up builds on it; untrusted like the request. */
export function buildFollowUpContext(
  task: TaskRecord,
  conversation: ConversationState | null,
  clone: TaskClone,
): string | undefined {
  const parts: string[] = [];
  if (task.request.context) parts.push(task.request.context);
  if (clone.branchExisted) {
    const pr = conversation?.pullRequest;
    parts.push(
      `This is a follow-up: branch ${clone.branch} already holds earlier work of this conversation` +
        (pr ? ` (pull request #${pr.number}).` : '.'),
    );
  }
  return parts.length ? parts.join('\n\n') : undefined;
}
