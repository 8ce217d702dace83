import type { AgentResult, AgentRunInput } from '../agent/types.js';
import type { PullRequestRef } from '../domain/task.js';
import type { CommitResult, Mirror, TaskWorkspace } from '../workspace/types.js';

/**
 * What runTask needs from the workspace, agent and GitHub modules, stated as behaviour so that
 * `patchbay run` can wire a local remote and no PR, and tests can wire stand-ins behind real servers.
 */
export interface Workspaces {
  syncMirror(repo: string): Promise<Mirror>;
  defaultBranch(mirror: Mirror): Promise<string>;
  createClone(opts: { repo: string; taskId: string; branch: string; base: string }): Promise<TaskWorkspace>;
  commit(ws: TaskWorkspace, opts: { message: string; allowWorkflows: boolean }): Promise<CommitResult | null>;
  diffSummary(ws: TaskWorkspace): Promise<{ files: string[]; stat: string; patch: string }>;
  push(ws: TaskWorkspace): Promise<void>;
  dispose(ws: TaskWorkspace | { dir: string }): Promise<void>;
  deleteRemoteBranch(repo: string, branch: string): Promise<void>;
}

export interface AgentRunner {
  run(input: AgentRunInput): Promise<AgentResult>;
}

export interface PullRequestPublisher {
  publish(req: {
    repo: string;
    branch: string;
    base: string;
    title: string;
    body: string;
    draft: boolean;
  }): Promise<PullRequestRef & { created: boolean }>;
}
