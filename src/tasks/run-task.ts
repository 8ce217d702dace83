import type { ChatMessage } from '../agent/types.js';
import type { RepositoryConfig } from '../config/file-schema.js';
import { type Config, findRepository } from '../config/load-config.js';
import type { ConversationState } from '../domain/conversation.js';
import { PatchbayError } from '../domain/errors.js';
import type { Reporter, TaskStage } from '../domain/events.js';
import type { ConversationStore, TaskStore } from '../domain/ports.js';
import { FINAL_STATUSES, type PullRequestRef, type TaskRecord } from '../domain/task.js';
import type { Logger } from '../lib/logger.js';
import type { Sandbox } from '../sandbox/types.js';
import { toBranchName } from '../workspace/branch-name.js';
import type { Workspaces } from '../workspace/create-workspaces.js';
import type { TaskClone } from '../workspace/types.js';
import { type AttemptOutcome, conversationAfter } from './attempt-outcome.js';
import type { AgentRunner, Publisher } from './ports.js';
import { publishChanges } from './publish-changes.js';
import { runChecks, runSetup } from './run-commands.js';
import { stampOf, type TimelineWriter } from './timeline-writer.js';

export interface RunTaskDeps {
  config: Pick<Config, 'repositories' | 'file'>;
  store: TaskStore;
  conversations: Pick<ConversationStore, 'get'>;
  workspaces: Workspaces;
  sandbox: Sandbox;
  agent: AgentRunner;
  /** Pushes and opens the pull request (GitHub), or only pushes (`patchbay run --repo ./dir`). */
  publisher: Publisher;
  /** Must not throw (see createEventRouter). */
  reporter: Reporter;
  /** The task's timeline: what the agent did, the checks, the pull request, the diff. Never waits. */
  timeline: TimelineWriter;
  log: Logger;
}

/** What one attempt works with; nothing in it changes while the attempt runs. */
interface Attempt {
  deps: RunTaskDeps;
  repo: RepositoryConfig;
  conversation: ConversationState | null;
  signal: AbortSignal;
  log: Logger;
}

/**
 * One attempt at a task: clone → setup → agent → checks → commit, push, PR. The clone is removed
 * whatever happens, before the outcome is returned: the caller (handleAttempt) records it, so that
 * nothing of the task is left when its status says it is over. Throws PatchbayError on failure.
 */
export async function runTask(
  deps: RunTaskDeps,
  opts: { taskId: string; signal: AbortSignal },
): Promise<AttemptOutcome> {
  const found = await deps.store.get(opts.taskId);
  if (!found) throw new PatchbayError('task_not_found', `no task ${opts.taskId}`);
  if (FINAL_STATUSES.has(found.status)) return { kind: 'over', task: found };
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
  const task = await markRunning(deps.store, found.id, branch);
  if (FINAL_STATUSES.has(task.status)) return { kind: 'over', task };
  const log = deps.log.child({ taskId: task.id, conversation: task.conversation });
  const attempt: Attempt = { deps, repo, conversation, signal: opts.signal, log };
  await deps.reporter.report({ type: 'started', task, stage: 'clone' });
  const clone = await openClone(attempt, task, branch);
  try {
    return await workInClone(attempt, task, clone);
  } finally {
    await clone.dispose().catch((err) => log.error({ err: err.message }, 'could not remove clone'));
  }
}

/** Conditional: a cancel may have ended the task since it was read. */
function markRunning(store: TaskStore, id: string, branch: string): Promise<TaskRecord> {
  return store.update(id, (t) =>
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
}

async function openClone(attempt: Attempt, task: TaskRecord, branch: string): Promise<TaskClone> {
  const { deps, conversation } = attempt;
  const mirror = await deps.workspaces.syncMirror(task.request.repo, attempt.signal);
  const base =
    task.request.base ??
    conversation?.base ??
    attempt.repo.base ??
    (await deps.workspaces.defaultBranch(mirror));
  return deps.workspaces.createClone({ repo: task.request.repo, taskId: task.id, branch, base });
}

async function stage(attempt: Attempt, task: TaskRecord, name: TaskStage): Promise<void> {
  if (attempt.signal.aborted) throw new PatchbayError('cancelled', 'stopped');
  await attempt.deps.reporter.report({ type: 'stage', task, stage: name });
}

async function workInClone(attempt: Attempt, started: TaskRecord, clone: TaskClone): Promise<AttemptOutcome> {
  const { deps, repo, signal } = attempt;
  const limits = deps.config.file.limits;
  const inClone = { sandbox: deps.sandbox, ws: clone, repo, signal };
  await stage(attempt, started, 'setup');
  await runSetup({ ...inClone, timeoutMs: limits.setup_minutes * 60_000 });
  await stage(attempt, started, 'agent');
  const { result, task } = await runAgent(attempt, started, clone);
  const { outcome } = result;
  if (outcome.kind === 'cancelled') throw new PatchbayError('cancelled', outcome.reason);
  if (outcome.kind === 'budget') {
    throw new PatchbayError('budget_exhausted', outcome.message, {
      hint: 'raise `budget` in patchbay.yml or narrow the request, then ask again',
    });
  }
  if (outcome.kind === 'question') return keepWorkForAnswer(attempt, task, clone, outcome.question);
  await stage(attempt, task, 'checks');
  const checks = await runChecks({ ...inClone, timeoutMs: limits.check_minutes * 60_000 });
  if (checks.length > 0) deps.timeline.add(task.id, { type: 'checks', ...stampOf(task), checks });
  await stage(attempt, task, 'pull_request');
  const published = await publishChanges(
    clone,
    deps.publisher,
    {
      taskId: task.id,
      conversation: task.conversation,
      title: outcome.title,
      summary: outcome.summary,
      origin: task.request.origin,
      checks,
      usage: result.usage,
      steps: result.steps,
      durationMs: Date.now() - Date.parse(task.createdAt),
      draft: repo.draft,
      allowWorkflows: repo.allow_workflows,
      hasPullRequest: Boolean(attempt.conversation?.pullRequest),
    },
    signal,
  );
  const pullRequest = published.pullRequest ?? attempt.conversation?.pullRequest;
  if (published.changed) await keepDiff(attempt, task, clone, published);
  return {
    kind: 'succeeded',
    task,
    conversation: conversationAfter(attempt.conversation, task, clone, pullRequest),
    title: outcome.title,
    summary: outcome.summary,
    checks,
    pullRequest: published.changed ? pullRequest : undefined,
    commit: published.commit,
    changed: published.changed,
  };
}

async function runAgent(attempt: Attempt, task: TaskRecord, clone: TaskClone) {
  const { deps } = attempt;
  const resuming = task.answer !== undefined;
  // Resume from the transcript as it was when the question was asked: it matches the branch (its
  // work was pushed then), whatever a crashed earlier resume did after it. A new run starts empty.
  const transcript = (await deps.store.rewindTranscript(
    task.id,
    resuming ? 'question' : 'start',
  )) as ChatMessage[];
  const budget = { ...deps.config.file.budget, ...task.request.budget };
  const result = await deps.agent.run({
    workdir: clone.dir,
    sandbox: deps.sandbox,
    readOnlyPaths: [clone.mirrorDir],
    instruction: task.request.instruction,
    context: buildContext(task, attempt.conversation, clone),
    repo: task.request.repo,
    branch: clone.branch,
    transcript,
    answer: resuming ? task.answer : undefined,
    budget: { steps: budget.steps, ms: budget.minutes * 60_000, usd: budget.usd },
    model: task.request.model,
    usedBefore: { steps: task.steps, usage: task.usage },
    signal: attempt.signal,
    onActivity: (activity) => deps.timeline.activity(task, activity),
    onStep: async (step) => {
      const current = await deps.store.update(task.id, () => ({ steps: step.step, usage: step.usage }));
      await deps.reporter.report({ type: 'step', task: current, step });
    },
    onMessages: (added) => deps.store.appendTranscript(task.id, added),
    log: attempt.log,
  });
  const after = await deps.store.update(task.id, () => ({ steps: result.steps, usage: result.usage }));
  return { result, task: after };
}

/** Earlier work in the conversation, so that a follow-up builds on it; untrusted like the request. */
function buildContext(
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

/** The answer resumes the task in a fresh clone of this branch: the work so far is pushed first. */
async function keepWorkForAnswer(
  attempt: Attempt,
  task: TaskRecord,
  clone: TaskClone,
  question: string,
): Promise<AttemptOutcome> {
  const wip = await clone.commit({
    message: `WIP: waiting for an answer\n\nPatchbay-Task: ${task.id}`,
    allowWorkflows: attempt.repo.allow_workflows,
  });
  if (wip) await clone.push(attempt.signal);
  await keepDiff(attempt, task, clone);
  const conversation = conversationAfter(
    attempt.conversation,
    task,
    clone,
    attempt.conversation?.pullRequest,
  );
  return { kind: 'waiting', task, conversation, question };
}

/**
 * Hands the timeline what this attempt published: the pull request, and the diff as a reviewer reads
 * it (from the base to what the task pushed; the work so far at a question). Reading the diff runs
 * git in the clone, so this comes before the clone is gone; failing to read it never fails the task.
 */
async function keepDiff(
  attempt: Attempt,
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
