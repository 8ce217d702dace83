import type { ConversationState } from '../domain/conversation.js';
import type { ConversationStore, TaskStore } from '../domain/ports.js';
import type { ReplyAddress } from '../domain/reply-address.js';
import { FINAL_STATUSES, type PullRequestRef, type TaskRecord } from '../domain/task.js';

/** What a conversation works on, as a reply to a person shows it. */
export interface ConversationView {
  repo: string;
  /** Absent until the conversation's first task picked its branch. */
  branch?: string;
  base?: string;
  pullRequest?: PullRequestRef;
}

/** What "stop" did: nothing to stop, stopped at once (queued or waiting), or asked its worker to stop. */
export type StopOutcome =
  | { kind: 'nothing' }
  | { kind: 'stopped'; task: TaskRecord }
  | { kind: 'stopping'; task: TaskRecord };

/**
 * What an integration may do with a conversation (a Slack thread, a Linear issue, a pull request):
 * the use cases its handlers need, so that none of them reads or writes conversation state itself.
 */
export interface ConversationDoor {
  /** The conversation's newest task (what "stop" and "status" refer to). */
  latestTask(conversation: string): Promise<TaskRecord | null>;
  /** Its newest task while that is not over (queued, running or waiting for an answer). */
  activeTask(conversation: string): Promise<TaskRecord | null>;
  /**
   * Its repository, branch and pull request: the stored state, or, while its first task has not
   * recorded one yet, what that task knows.
   */
  view(conversation: string): Promise<ConversationView | null>;
  /**
   * The view and the stored state from one wait on the store, for a caller that submits a task right
   * after: it hands `stored` to submit, which then does not read it again.
   */
  read(conversation: string): Promise<{ view: ConversationView | null; stored: ConversationState | null }>;
  /** The state as stored, read-only (GitHub checks a pull request's marker against it). */
  stored(conversation: string): Promise<ConversationState | null>;
  /** Stops the newest task, if it is not over. */
  stopLatest(conversation: string): Promise<StopOutcome>;
  /**
   * A place joins the conversation's active task: it hears the rest of it. Null when no task is
   * active; `joined` false when the place heard about it already.
   */
  joinActive(
    conversation: string,
    place: ReplyAddress,
  ): Promise<{ task: TaskRecord; joined: boolean } | null>;
  /**
   * Makes a pull request a conversation of its own (one whose stored state is gone or was never
   * Patchbay's to keep): follow-ups then work on its head branch.
   */
  adoptPullRequest(pull: {
    id: string;
    repo: string;
    branch: string;
    base: string;
    pullRequest: PullRequestRef;
  }): Promise<void>;
}

export function createConversationDoor(deps: {
  store: TaskStore;
  conversations: ConversationStore;
  cancel: (taskId: string) => Promise<TaskRecord>;
}): ConversationDoor {
  const { store, conversations } = deps;

  async function latestTask(conversation: string): Promise<TaskRecord | null> {
    const latest = await conversations.latest(conversation);
    return latest ? store.get(latest) : null;
  }

  async function read(conversation: string) {
    // Both asked at once (a new conversation, the usual case, needs both): one wait, not two.
    const [stored, latest] = await Promise.all([
      conversations.get(conversation),
      conversations.latest(conversation),
    ]);
    if (stored) {
      const { repo, branch, base, pullRequest } = stored;
      return { stored, view: { repo, branch, base, pullRequest } };
    }
    const task = latest ? await store.get(latest) : null;
    const view = task ? { repo: task.request.repo, branch: task.branch, base: task.request.base } : null;
    return { stored, view };
  }

  async function activeTask(conversation: string): Promise<TaskRecord | null> {
    const task = await latestTask(conversation);
    return task && !FINAL_STATUSES.has(task.status) ? task : null;
  }

  return {
    latestTask,
    activeTask,
    stored: (conversation) => conversations.get(conversation),
    view: async (conversation) => (await read(conversation)).view,
    read,
    async stopLatest(conversation) {
      const task = await latestTask(conversation);
      if (!task || FINAL_STATUSES.has(task.status)) return { kind: 'nothing' };
      const after = await deps.cancel(task.id);
      return after.status === 'cancelled'
        ? { kind: 'stopped', task: after }
        : { kind: 'stopping', task: after };
    },
    async joinActive(conversation, place) {
      const task = await activeTask(conversation);
      if (!task) return null;
      return { task, joined: await store.join(task.id, place) };
    },
    async adoptPullRequest(pull) {
      await conversations.put({
        id: pull.id,
        repo: pull.repo,
        branch: pull.branch,
        base: pull.base,
        pullRequest: pull.pullRequest,
      });
    },
  };
}
