import type { AgentResult, AgentRunInput } from '../agent/types.js';
import type { PullRequestDraft } from '../domain/ports.js';
import type { PullRequestRef } from '../domain/task.js';
import type { TaskClone } from '../workspace/types.js';

export interface AgentRunner {
  run(input: AgentRunInput): Promise<AgentResult>;
}

/** A task's change as the pull request shows it; the branch, base and draft flag come from the clone. */
export type ChangeToPublish = Omit<PullRequestDraft, 'repo' | 'branch' | 'base'>;

export interface Published {
  /** The commit now at the tip of the remote branch (a replayed one when the branch moved). */
  sha?: string;
  pullRequest?: PullRequestRef;
  /** True when this publish opened the pull request (false: it updated the one there). */
  created?: boolean;
}

/**
 * Where a committed change goes: pushed and shown in a pull request (GitHub), or only pushed (a local
 * remote for `patchbay run --repo ./dir`). `pushCommit` is false when the branch already holds the
 * work (committed before a question) and only the pull request is missing.
 */
export interface Publisher {
  publish(
    clone: TaskClone,
    change: ChangeToPublish,
    opts: { pushCommit: boolean; signal: AbortSignal },
  ): Promise<Published>;
}
