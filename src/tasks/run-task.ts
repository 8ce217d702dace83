import type { RepositoryConfig } from '../config/file-schema.js';
import { limitsFor } from '../config/limits-for.js';
import { type Config, findRepository } from '../config/load-config.js';
import { isPermanent, PatchbayError } from '../domain/errors.js';
import type { Reporter, TaskStage } from '../domain/events.js';
import type { ConversationStore, TaskStore } from '../domain/ports.js';
import { FINAL_STATUSES, type TaskRecord } from '../domain/task.js';
import type { Logger } from '../lib/logger.js';
import type { EgressProxy } from '../sandbox/egress-proxy.js';
import type { SandboxHost } from '../sandbox/types.js';
import { toBranchName } from '../workspace/branch-name.js';
import type { Workspaces } from '../workspace/create-workspaces.js';
import type { TaskClone } from '../workspace/types.js';
import { openAgentNetwork } from './agent-network.js';
import { type AttemptOutcome, conversationAfter } from './attempt-outcome.js';
import { buildFollowUpContext } from './follow-up-context.js';
import { keepDiff } from './keep-diff.js';
import { type LimitedAttempt, workUnderLimits } from './limited-attempt.js';
import { type EnvironmentDeps, makeEnvironment } from './make-environment.js';
import type { AgentRunner, Publisher } from './ports.js';
import { publishChanges } from './publish-changes.js';
import { type AgentAttempt, runAgent } from './run-agent.js';
import { runChecks } from './run-commands.js';
import { stampOf, type TimelineWriter } from './timeline-writer.js';

export interface RunTaskDeps {
  config: Pick<Config, 'repositories' | 'file' | 'models'>;
  store: TaskStore;
  conversations: Pick<ConversationStore, 'get'>;
  workspaces: Workspaces;
  /** Every command of a task runs in the task's own sandbox from `openTask`, under its limits. */
  sandbox: SandboxHost;
  agent: AgentRunner;
  /** Pushes and opens the pull request (GitHub), or only pushes (`patchbay run --repo ./dir`). */
  publisher: Publisher;
  /** Must not throw (see createEventRouter). */
  reporter: Reporter;
  /** The task's timeline: what the agent did, the checks, the pull request, the diff. Never waits. */
  timeline: TimelineWriter;
  log: Logger;
  /** Setup's package caches and setup_env; absent: no cache and no setup_env (as in `patchbay run`). */
  environment?: EnvironmentDeps;
  /** The filtering proxy for repositories with `network: allowlist` (absent: their agent stays offline). */
  egress?: EgressProxy;
}

/** What one attempt works with; nothing in it changes while the attempt runs (but `kept`). */
interface Attempt extends AgentAttempt {
  deps: RunTaskDeps;
  repo: RepositoryConfig;
}

/** An attempt at work in its clone: its commands run in `limited`'s sandbox, under its signal. */
interface InClone extends Attempt {
  limited: LimitedAttempt;
  /** How long the mirror sync and the clone took. */
  cloneMs: number;
}

/**
 * One attempt at a task: clone → setup → agent → checks → commit, push, PR. The clone is removed
 * whatever happens, before the outcome is returned: the caller (handleAttempt) records it, so that
 * nothing of the task is left when its status says it is over. Throws PatchbayError on failure.
 */
export async function runTask(
  deps: RunTaskDeps,
  opts: { taskId: string; signal: AbortSignal; lastAttempt?: boolean },
): Promise<AttemptOutcome> {
  const found = await deps.store.get(opts.taskId);
  if (!found) throw new PatchbayError('task_not_found', `no task ${opts.taskId}`);
  if (FINAL_STATUSES.has(found.status)) return { kind: 'over', task: found };
  const repo = findRepository(deps.config, found.request.repo);
  if (!repo) throw new PatchbayError('repo_not_allowed', `${found.request.repo} is not in patchbay.yml`);
  const model = deps.config.models.choose(found.request.model);
  const conversation = await deps.conversations.get(found.conversation);
  const branch =
    conversation?.branch ??
    toBranchName({
      key: found.request.branchKey,
      conversation: found.conversation,
      instruction: found.request.instruction,
    });
  const task = await markRunning(deps.store, found.id, branch, model.name);
  if (FINAL_STATUSES.has(task.status)) return { kind: 'over', task };
  const log = deps.log.child({ taskId: task.id, conversation: task.conversation });
  const attempt: Attempt = {
    deps,
    repo,
    conversation,
    model,
    signal: opts.signal,
    log,
    kept: { any: false },
  };
  await deps.reporter.report({ type: 'started', task, stage: 'clone' });
  const cloneStarted = performance.now();
  const clone = await openClone(attempt, task, branch);
  const cloneMs = performance.now() - cloneStarted;
  try {
    const under = {
      ...{ sandboxes: deps.sandbox, store: deps.store, taskId: task.id, workdir: clone.dir, repo, log },
      ...{ limits: limitsFor(deps.config.file, repo), before: task.resources, signal: opts.signal },
    };
    const outcome = await workUnderLimits(under, (limited) =>
      workInClone({ ...attempt, signal: limited.signal, limited, cloneMs }, task, clone),
    );
    await dropKeptWork(attempt, task);
    return outcome;
  } catch (err) {
    // Kept for the next attempt, unless none will come (a worker that stops hands the task on).
    if ((isPermanent(err) || opts.lastAttempt) && !interrupted(attempt.signal))
      await dropKeptWork(attempt, task);
    throw err;
  } finally {
    await clone.dispose().catch((err) => log.error({ err: err.message }, 'could not remove clone'));
  }
}

/** Shutdown and a lost lease hand the task to another worker, which resumes from the kept work. */
const interrupted = (signal: AbortSignal) =>
  signal.aborted && (signal.reason === 'shutdown' || signal.reason === 'lock_lost');

/**
 * The task's kept work is no use once it ended (or its result is on the branch): its ref goes.
 * Failing to delete it never fails the task.
 */
async function dropKeptWork(attempt: Attempt, task: TaskRecord): Promise<void> {
  if (!attempt.kept.any) return;
  await attempt.deps.workspaces
    .dropKeptWork(task.request.repo, task.id)
    .catch((err: Error) => attempt.log.warn({ err: err.message }, 'could not delete the kept work'));
}

/** Conditional: a cancel may have ended the task since it was read. */
function markRunning(store: TaskStore, id: string, branch: string, model: string): Promise<TaskRecord> {
  return store.update(id, (t) =>
    FINAL_STATUSES.has(t.status)
      ? {}
      : {
          status: 'running',
          attempts: t.attempts + 1,
          startedAt: t.startedAt ?? new Date().toISOString(),
          branch,
          model,
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

async function workInClone(attempt: InClone, started: TaskRecord, clone: TaskClone): Promise<AttemptOutcome> {
  const { deps, repo, signal, limited } = attempt;
  const limits = limitsFor(deps.config.file, repo);
  const inClone = { sandbox: limited.sandbox, ws: clone, repo, signal };
  await stage(attempt, started, 'setup');
  const setup = await makeEnvironment(
    { ...inClone, timeoutMs: limits.setup_minutes * 60_000 },
    deps,
    started,
  );
  await stage(attempt, started, 'agent');
  const { result, task, agentMs, blockedNames } = await agentPhase(attempt, started, clone);
  const { outcome } = result;
  // A limit that kept stopping the agent's commands ended its run: the task fails for that, once.
  const failure = limited.failure();
  if (failure) throw failure;
  if (outcome.kind === 'cancelled') throw new PatchbayError('cancelled', outcome.reason);
  if (outcome.kind === 'budget') {
    throw new PatchbayError('budget_exhausted', outcome.message, {
      hint: 'raise `budget` in patchbay.yml or narrow the request, then ask again',
    });
  }
  if (outcome.kind === 'question') {
    await attempt.limited.close();
    return keepWorkForAnswer(attempt, task, clone, outcome.question);
  }
  await stage(attempt, task, 'checks');
  const checksStarted = performance.now();
  const checks = await runChecks({ ...inClone, timeoutMs: limits.check_minutes * 60_000 });
  const stages = { cloneMs: attempt.cloneMs, setup, agentMs, checksMs: performance.now() - checksStarted };
  if (checks.length > 0) deps.timeline.add(task.id, { type: 'checks', ...stampOf(task), checks });
  // The task's commands are over: nothing of them may run while the host commits and pushes.
  const resources = await attempt.limited.close();
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
      model: result.model,
      compactions: result.compactions,
      stages,
      durationMs: Date.now() - Date.parse(task.createdAt),
      resources,
      draft: repo.draft,
      allowWorkflows: repo.allow_workflows,
      hasPullRequest: Boolean(attempt.conversation?.pullRequest),
      blockedNames,
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

/**
 * The agent's run, in the task's sandbox (through the filtering proxy where the repository allows
 * names): what it came to, how long it took, and the names the proxy refused.
 */
async function agentPhase(attempt: InClone, started: TaskRecord, clone: TaskClone) {
  const { deps, repo, limited } = attempt;
  const agentStarted = performance.now();
  const context = buildFollowUpContext(started, attempt.conversation, clone);
  const maxCommandMs = limitsFor(deps.config.file, repo).command_seconds * 1000;
  limited.agentAt(true);
  const network = await openAgentNetwork(deps, repo, started, limited.sandbox, attempt.log);
  const sandbox = network?.sandbox ?? limited.sandbox;
  const run = { sandbox, maxCommandMs, context, allowedDomains: network?.domains };
  const { result, task } = await runAgent(attempt, started, clone, run).finally(() => network?.close());
  limited.agentAt(false);
  const blockedNames = (await network?.close()) ?? [];
  return { result, task, agentMs: performance.now() - agentStarted, blockedNames };
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
