import type { RepositoryConfig } from '../config/file-schema.js';
import type { ConversationState } from '../domain/conversation.js';
import type { CheckResult, PullRequestRef, TaskRecord, Usage } from '../domain/task.js';
import { renderPullRequestBody } from '../integrations/github/pr-body.js';
import type { Logger } from '../lib/logger.js';
import type { TaskWorkspace } from '../workspace/types.js';
import type { PullRequestPublisher, Workspaces } from './ports.js';

export interface PublishOutcome {
  changed: boolean;
  pullRequest?: PullRequestRef;
  files: string[];
  /** The commit pushed by this call, if it made one. */
  commit?: { sha: string; files: string[] };
}

/**
 * The host commits (bot identity, hooks off), pushes the branch and opens or updates the PR. Nothing
 * changed → nothing pushed. A permanent failure after pushing a new branch deletes it again: a failed
 * task leaves no stray branch.
 */
export async function publishChanges(opts: {
  workspaces: Workspaces;
  publisher: PullRequestPublisher | null;
  ws: TaskWorkspace;
  repo: RepositoryConfig;
  task: TaskRecord;
  conversation: ConversationState | null;
  title: string;
  summary: string;
  checks: CheckResult[];
  usage: Usage;
  steps: number;
  log: Logger;
  signal?: AbortSignal;
}): Promise<PublishOutcome> {
  const { workspaces, ws, task } = opts;
  const message = `${opts.title}\n\n${opts.summary}\n\nPatchbay-Task: ${task.id}`;
  const commit = await workspaces.commit(ws, { message, allowWorkflows: opts.repo.allow_workflows });
  // Work committed earlier in this task (before a question) is on the branch but in no PR yet.
  const pending = commit ? [] : (await workspaces.diffSummary(ws)).files;
  const hasOpenPr = Boolean(opts.conversation?.pullRequest);
  if (!commit && (hasOpenPr || pending.length === 0)) return { changed: false, files: [] };
  // After a replay onto a person's commits the pushed sha is not the one committed: report that one.
  const pushed = commit ? { sha: await workspaces.push(ws, opts.signal), files: commit.files } : undefined;
  if (!opts.publisher) return { changed: true, files: commit?.files ?? pending, commit: pushed };
  const body = renderPullRequestBody({
    taskId: task.id,
    conversation: task.conversation,
    summary: opts.summary,
    origin: task.request.origin,
    checks: opts.checks,
    usage: opts.usage,
    steps: opts.steps,
    durationMs: Date.now() - Date.parse(task.createdAt),
  });
  try {
    const pr = await opts.publisher.publish({
      repo: task.request.repo,
      branch: ws.branch,
      base: ws.base,
      title: opts.title,
      body,
      draft: opts.repo.draft,
    });
    opts.log.info({ pr: pr.number, created: pr.created }, 'published pull request');
    return {
      changed: true,
      pullRequest: { number: pr.number, url: pr.url },
      files: commit?.files ?? pending,
      commit: pushed,
    };
  } catch (err) {
    // A branch this attempt created goes again whatever the failure: a retry pushes it anew, and a
    // task that fails for good leaves no stray branch.
    if (!ws.branchExisted) {
      await workspaces.deleteRemoteBranch(task.request.repo, ws.branch).catch(() => undefined);
    }
    throw err;
  }
}
