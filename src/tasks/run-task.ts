import type { ChatMessage } from '../agent/types.js';
import type { RepositoryConfig } from '../config/file-schema.js';
import { type Config, findRepository } from '../config/load-config.js';
import type { ConversationState } from '../domain/conversation.js';
import { PatchbayError } from '../domain/errors.js';
import type { Reporter, TaskStage } from '../domain/events.js';
import type { ConversationStore, TaskStore } from '../domain/ports.js';
import { FINAL_STATUSES, type TaskRecord } from '../domain/task.js';
import type { Logger } from '../lib/logger.js';
import type { Sandbox } from '../sandbox/types.js';
import { toBranchName } from '../workspace/branch-name.js';
import type { TaskWorkspace } from '../workspace/types.js';
import type { AgentRunner, PullRequestPublisher, Workspaces } from './ports.js';
import { publishChanges } from './publish-changes.js';
import { runChecks, runSetup } from './run-commands.js';

export interface RunTaskDeps {
  config: Pick<Config, 'repositories' | 'file'>;
  store: TaskStore;
  conversations: ConversationStore;
  workspaces: Workspaces;
  sandbox: Sandbox;
  agent: AgentRunner;
  /** null when the remote is a local path (`patchbay run --repo ./dir`): the branch is pushed, no PR. */
  publisher: PullRequestPublisher | null;
  /** Must not throw (see toSafeReporter). */
  reporter: Reporter;
  log: Logger;
}

interface Ctx {
  deps: RunTaskDeps;
  task: TaskRecord;
  repo: RepositoryConfig;
  conversation: ConversationState | null;
  signal: AbortSignal;
  log: Logger;
}

/**
 * One attempt at a task: clone → setup → agent → checks → commit, push, PR. The clone is removed
 * whatever happens. Throws PatchbayError on failure; the caller (handleAttempt) records it.
 */
export async function runTask(
  deps: RunTaskDeps,
  opts: { taskId: string; signal: AbortSignal },
): Promise<TaskRecord> {
  const found = await deps.store.get(opts.taskId);
  if (!found) throw new PatchbayError('task_not_found', `no task ${opts.taskId}`);
  if (FINAL_STATUSES.has(found.status)) return found;
  const repo = findRepository(deps.config, found.request.repo);
  if (!repo) throw new PatchbayError('repo_not_allowed', `${found.request.repo} is not in patchbay.yml`);
  const conversation = await deps.conversations.get(found.conversation);
  const branch =
    conversation?.branch ??
    toBranchName({
      key: found.request.branchKey,
      conversation: found.conversation,
      instruction: found.request.instruction,
    });
  // Conditional: a cancel may have ended the task since it was read.
  const task = await deps.store.update(found.id, (t) =>
    FINAL_STATUSES.has(t.status)
      ? {}
      : {
          status: 'running',
          attempts: t.attempts + 1,
          startedAt: t.startedAt ?? new Date().toISOString(),
          branch,
          error: undefined,
        },
  );
  if (FINAL_STATUSES.has(task.status)) return task;
  const log = deps.log.child({ taskId: task.id, conversation: task.conversation });
  const ctx: Ctx = { deps, task, repo, conversation, signal: opts.signal, log };
  await deps.reporter.report({ type: 'started', task, stage: 'clone' });
  const ws = await prepareWorkspace(ctx, branch);
  let settle: Settle;
  try {
    settle = await workInClone(ctx, ws);
  } finally {
    await deps.workspaces
      .dispose(ws)
      .catch((err) => log.error({ err: err.message }, 'could not remove clone'));
  }
  // The task ends once its clone is gone: nothing of it is left when its status says it is over.
  return settle();
}

/** Where the transcript is kept as it was when the agent asked its question. */
const questionCheckpoint = (taskId: string) => `${taskId}.question`;

/** The final record and report of an attempt, made after its clone is removed. */
type Settle = () => Promise<TaskRecord>;

async function prepareWorkspace(ctx: Ctx, branch: string): Promise<TaskWorkspace> {
  const { deps, task, conversation } = ctx;
  const mirror = await deps.workspaces.syncMirror(task.request.repo, ctx.signal);
  const base =
    task.request.base ?? conversation?.base ?? ctx.repo.base ?? (await deps.workspaces.defaultBranch(mirror));
  const ws = await deps.workspaces.createClone({ repo: task.request.repo, taskId: task.id, branch, base });
  if (!conversation) {
    ctx.conversation = {
      id: task.conversation,
      repo: task.request.repo,
      branch,
      base,
      lastTaskId: task.id,
      origin: task.request.origin,
    };
    await deps.conversations.put(ctx.conversation);
  }
  return ws;
}

async function stage(ctx: Ctx, name: TaskStage): Promise<void> {
  if (ctx.signal.aborted) throw new PatchbayError('cancelled', 'stopped');
  await ctx.deps.reporter.report({ type: 'stage', task: ctx.task, stage: name });
}

async function workInClone(ctx: Ctx, ws: TaskWorkspace): Promise<Settle> {
  const limits = ctx.deps.config.file.limits;
  await stage(ctx, 'setup');
  await runSetup({
    sandbox: ctx.deps.sandbox,
    ws,
    repo: ctx.repo,
    timeoutMs: limits.setup_minutes * 60_000,
    signal: ctx.signal,
  });
  await stage(ctx, 'agent');
  const result = await runAgent(ctx, ws);
  const { outcome } = result;
  if (outcome.kind === 'cancelled') throw new PatchbayError('cancelled', outcome.reason);
  if (outcome.kind === 'budget') {
    throw new PatchbayError('budget_exhausted', outcome.message, {
      hint: 'raise `budget` in patchbay.yml or narrow the request, then ask again',
    });
  }
  if (outcome.kind === 'question') return askQuestion(ctx, ws, outcome.question);
  await stage(ctx, 'checks');
  const checks = await runChecks({
    sandbox: ctx.deps.sandbox,
    ws,
    repo: ctx.repo,
    timeoutMs: limits.check_minutes * 60_000,
    signal: ctx.signal,
  });
  await stage(ctx, 'pull_request');
  const published = await publishChanges({
    workspaces: ctx.deps.workspaces,
    publisher: ctx.deps.publisher,
    ws,
    repo: ctx.repo,
    task: ctx.task,
    conversation: ctx.conversation,
    title: outcome.title,
    summary: outcome.summary,
    checks,
    usage: result.usage,
    steps: result.steps,
    log: ctx.log,
    signal: ctx.signal,
  });
  return finish(ctx, ws, { ...published, title: outcome.title, summary: outcome.summary, checks });
}

async function runAgent(ctx: Ctx, ws: TaskWorkspace) {
  const { deps, task } = ctx;
  const resuming = task.answer !== undefined;
  // Resume from the transcript as it was when the question was asked: it matches the branch (its
  // work was pushed then), whatever a crashed earlier resume did after it.
  const transcript = resuming
    ? ((await deps.store.getTranscript(questionCheckpoint(task.id))) as ChatMessage[])
    : [];
  const budget = deps.config.file.budget;
  const result = await deps.agent.run({
    workdir: ws.dir,
    sandbox: deps.sandbox,
    readOnlyPaths: [ws.mirrorDir],
    instruction: task.request.instruction,
    context: buildContext(ctx, ws),
    repo: task.request.repo,
    branch: ws.branch,
    transcript,
    answer: resuming ? task.answer : undefined,
    budget: { steps: budget.steps, ms: budget.minutes * 60_000, usd: budget.usd },
    usedBefore: { steps: task.steps, usage: task.usage },
    signal: ctx.signal,
    onStep: async (step) => {
      ctx.task = await deps.store.update(task.id, () => ({ steps: step.step, usage: step.usage }));
      await deps.reporter.report({ type: 'step', task: ctx.task, step });
    },
    onTranscript: (messages) => deps.store.setTranscript(task.id, messages),
    log: ctx.log,
  });
  ctx.task = await deps.store.update(task.id, () => ({ steps: result.steps, usage: result.usage }));
  return result;
}

/** Earlier work in the conversation, so that a follow-up builds on it; untrusted like the request. */
function buildContext(ctx: Ctx, ws: TaskWorkspace): string | undefined {
  const parts: string[] = [];
  if (ctx.task.request.context) parts.push(ctx.task.request.context);
  if (ws.branchExisted) {
    const pr = ctx.conversation?.pullRequest;
    parts.push(
      `This is a follow-up: branch ${ws.branch} already holds earlier work of this conversation` +
        (pr ? ` (pull request #${pr.number}).` : '.'),
    );
  }
  return parts.length ? parts.join('\n\n') : undefined;
}

async function askQuestion(ctx: Ctx, ws: TaskWorkspace, question: string): Promise<Settle> {
  const { deps } = ctx;
  // Keep the work so far: the answer resumes the task in a fresh clone of this branch.
  const wip = await deps.workspaces.commit(ws, {
    message: `WIP: waiting for an answer\n\nPatchbay-Task: ${ctx.task.id}`,
    allowWorkflows: ctx.repo.allow_workflows,
  });
  if (wip) await deps.workspaces.push(ws, ctx.signal);
  return async () => {
    if (ctx.signal.aborted) throw new PatchbayError('cancelled', 'stopped while asking');
    await deps.store.setTranscript(
      questionCheckpoint(ctx.task.id),
      await deps.store.getTranscript(ctx.task.id),
    );
    const task = await deps.store.update(ctx.task.id, () => ({
      status: 'waiting_for_input',
      question,
      answer: undefined,
    }));
    await deps.conversations.setWaiting(task.conversation, task.id);
    await deps.reporter.report({ type: 'question', task, question });
    return task;
  };
}

async function finish(
  ctx: Ctx,
  ws: TaskWorkspace,
  done: {
    changed: boolean;
    pullRequest?: { number: number; url: string };
    commit?: { sha: string; files: string[] };
    title: string;
    summary: string;
    checks: TaskRecord['checks'];
  },
): Promise<Settle> {
  const { deps } = ctx;
  const summary = done.changed
    ? done.summary
    : `${done.summary}\n\nNo files changed, so there is nothing to review and no pull request was opened.`;
  const pullRequest = done.pullRequest ?? ctx.conversation?.pullRequest;
  const conversation = ctx.conversation ?? {
    id: ctx.task.conversation,
    repo: ctx.task.request.repo,
    branch: ws.branch,
  };
  await deps.conversations.put({ ...conversation, base: ws.base, pullRequest, lastTaskId: ctx.task.id });
  return async () => {
    const task = await deps.store.update(ctx.task.id, () => ({
      status: 'succeeded',
      title: done.title,
      summary,
      checks: done.checks,
      pullRequest: done.changed ? pullRequest : undefined,
      question: undefined,
      answer: undefined,
      finishedAt: new Date().toISOString(),
    }));
    await deps.reporter.report({
      type: 'finished',
      task,
      pullRequest: task.pullRequest,
      summary,
      checks: done.checks,
      commit: done.commit,
    });
    return task;
  };
}
