import type { PullRequestHost } from '../domain/ports.js';
import type { Logger } from '../lib/logger.js';
import type { Workspaces } from '../workspace/create-workspaces.js';
import type { TaskClone } from '../workspace/types.js';
import type { ChangeToPublish, Published, Publisher } from './ports.js';

export interface PublishOutcome extends Published {
  changed: boolean;
  /** The commit pushed by this attempt, if it made one. */
  commit?: { sha: string; files: string[] };
}

/**
 * The host commits what the agent left (bot identity, hooks off) and hands it to the publisher.
 * Nothing changed, and nothing committed earlier waits for a pull request → nothing is published.
 */
export async function publishChanges(
  clone: TaskClone,
  publisher: Publisher,
  change: ChangeToPublish & { allowWorkflows: boolean; hasPullRequest: boolean },
  signal: AbortSignal,
): Promise<PublishOutcome> {
  const { allowWorkflows, hasPullRequest, ...content } = change;
  const message = `${change.title}\n\n${change.summary}\n\nPatchbay-Task: ${change.taskId}`;
  const commit = await clone.commit({ message, allowWorkflows });
  // Work committed earlier in this task (before a question) is on the branch but in no PR yet.
  const pending = commit ? [] : (await clone.diff()).files;
  if (!commit && (hasPullRequest || pending.length === 0)) return { changed: false };
  const published = await publisher.publish(clone, content, { pushCommit: Boolean(commit), signal });
  // After a replay onto a person's commits the pushed sha is not the one committed: report that one.
  const pushed = commit && published.sha ? { sha: published.sha, files: commit.files } : undefined;
  return { ...published, changed: true, commit: pushed };
}

/**
 * Pushes the branch and opens or updates its pull request. A failure after a new branch was pushed
 * deletes it again, whatever the failure: a retry pushes it anew, and a task that fails for good
 * leaves no stray branch.
 */
export function createPullRequestPublisher(deps: {
  host: PullRequestHost;
  workspaces: Pick<Workspaces, 'deleteRemoteBranch'>;
  log: Logger;
}): Publisher {
  return {
    async publish(clone, change, opts) {
      const sha = opts.pushCommit ? await clone.push(opts.signal) : undefined;
      try {
        const pr = await deps.host.publish({
          ...change,
          repo: clone.repo,
          branch: clone.branch,
          base: clone.base,
        });
        deps.log.info({ pr: pr.number, created: pr.created }, 'published pull request');
        return { sha, pullRequest: { number: pr.number, url: pr.url }, created: pr.created };
      } catch (err) {
        if (!clone.branchExisted) {
          await deps.workspaces.deleteRemoteBranch(clone.repo, clone.branch).catch(() => undefined);
        }
        throw err;
      }
    },
  };
}

/** For a remote with no pull requests (`patchbay run --repo ./dir`): the branch is pushed, nothing more. */
export function createPushOnlyPublisher(): Publisher {
  return {
    async publish(clone, _change, opts) {
      return opts.pushCommit ? { sha: await clone.push(opts.signal) } : {};
    },
  };
}
