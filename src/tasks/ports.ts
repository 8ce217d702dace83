import type { AgentResult, AgentRunInput } from '../agent/types.js';
import type { PullRequestRef } from '../domain/task.js';
import type { OpenPullRequest } from '../integrations/github/pull-requests.js';
import type { CommitResult, Mirror, TaskWorkspace } from '../workspace/types.js';

/**
 * What runTask needs from the workspace, agent and GitHub modules, stated as behaviour so that
 * `patchbay run` can wire a local remote and no PR, and tests can wire stand-ins behind real servers.
 */
export interface Workspaces {
  /** `signal` aborts a fetch in progress (cancel, shutdown). */
  syncMirror(repo: string, signal?: AbortSignal): Promise<Mirror>;
  defaultBranch(mirror: Mirror): Promise<string>;
  createClone(opts: { repo: string; taskId: string; branch: string; base: string }): Promise<TaskWorkspace>;
  commit(ws: TaskWorkspace, opts: { message: string; allowWorkflows: boolean }): Promise<CommitResult | null>;
  diffSummary(ws: TaskWorkspace): Promise<{ files: string[]; stat: string; patch: string }>;
  /** Resolves to the commit now at the tip of the remote branch (a replayed one when it moved). */
  push(ws: TaskWorkspace, signal?: AbortSignal): Promise<string>;
  dispose(ws: TaskWorkspace | { dir: string }): Promise<void>;
  deleteRemoteBranch(repo: string, branch: string): Promise<void>;
}

export interface AgentRunner {
  run(input: AgentRunInput): Promise<AgentResult>;
}

export interface PullRequestPublisher {
  publish(req: OpenPullRequest): Promise<PullRequestRef & { created: boolean }>;
}
