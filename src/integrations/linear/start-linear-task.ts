import { PatchbayError } from '../../domain/errors.js';
import { FINAL_STATUSES, type TaskRecord } from '../../domain/task.js';
import type { TaskServices } from '../../server/integration.js';
import { toContext, toInstruction } from './issue-request.js';
import type { ActivityContent, LinearIssue } from './linear-api.js';
import { toConversationKey } from './linear-events.js';
import { acknowledge, apiAt, type LinearHandlerDeps, sayOnce } from './linear-replies.js';
import type { LinearTarget } from './linear-targets.js';
import { allowedRepoList, type IssueRoute, routeIssueRepository } from './route-issue-repository.js';

/** One request for work on an issue, from whichever place (a session, an assignment, a mention). */
export interface LinearRequest {
  target: LinearTarget;
  issueId: string;
  organizationId?: string;
  /** The idempotency key of the delivery (`linear:<Linear-Delivery>`). */
  deliveryId: string;
  requester?: string;
}

const LOCK_TTL_SECONDS = 30;
const LOCK_WAIT_MS = 5_000;

/**
 * A start event (a delegation, an assignment, a mention that says nothing more): one run per issue.
 * While the issue's conversation has a task that is not over, the new place is attached to it (its
 * progress shows there too) and nothing is queued; otherwise the issue is read, routed and queued.
 * Start events of one issue are handled one at a time (a short lock in Redis), so that a delegation
 * and an assignment arriving together make one task.
 */
export async function startOrAttach(
  deps: LinearHandlerDeps,
  req: LinearRequest,
  mention?: string | null,
): Promise<void> {
  const conversation = toConversationKey(req.issueId);
  await withStartLock(deps, conversation, async () => {
    const active = await activeTask(deps.services, conversation);
    if (active) return attach(deps, req, active);
    const issue = await apiAt(deps, req.target).fetchIssue(req.issueId);
    if (!issue) return cannotRead(deps, req);
    const route = routeIssueRepository(factsOf(issue), deps.services.config);
    if (route.kind === 'ask') return sayOnce(deps, req.target, req.deliveryId, askContent(deps, route));
    await submit(deps, req, issue, {
      repo: route.repo,
      instruction: toInstruction(issue, mention),
      context: toContext(issue),
    });
  });
}

/**
 * A follow-up (a prompt in a session, a mention with an instruction): the answer to the question
 * when a task waits for one, else a new task on the issue's branch, run after the current one.
 */
export async function followUp(deps: LinearHandlerDeps, req: LinearRequest, said: string): Promise<void> {
  const { services } = deps;
  const conversation = toConversationKey(req.issueId);
  const state = await services.conversations.get(conversation);
  const latestId = state ? null : await services.conversations.latest(conversation);
  const latest = latestId ? await services.getTask(latestId) : null;
  let repo = state?.repo ?? latest?.request.repo;
  const issue = await apiAt(deps, req.target).fetchIssue(req.issueId);
  if (!issue) return cannotRead(deps, req);
  if (!repo) {
    // No earlier work: route as for a start, the message first (it may answer "which repository?").
    const facts = { ...factsOf(issue), description: `${said}\n\n${issue.description ?? ''}` };
    const route = routeIssueRepository(facts, services.config);
    if (route.kind === 'ask') return sayOnce(deps, req.target, req.deliveryId, askContent(deps, route));
    repo = route.repo;
  }
  await submit(deps, req, issue, { repo, instruction: said.slice(0, 20_000), context: undefined });
}

/** The task of the issue that is not over yet (queued, running or waiting for an answer), if any. */
export async function activeTask(services: TaskServices, conversation: string): Promise<TaskRecord | null> {
  const latest = await services.conversations.latest(conversation);
  const task = latest ? await services.getTask(latest) : null;
  return task && !FINAL_STATUSES.has(task.status) ? task : null;
}

async function attach(deps: LinearHandlerDeps, req: LinearRequest, task: TaskRecord): Promise<void> {
  if (!(await deps.services.kv.setIfAbsent(`linear:reply:${req.deliveryId}`, '1', 86_400))) return;
  const added = await deps.services.joinTask(task.id, req.target);
  deps.log.info(
    { taskId: task.id, conversation: task.conversation, target: req.target.kind, added },
    'linear start event attached to the issue’s task',
  );
  if (!added) return;
  const text =
    task.status === 'waiting_for_input'
      ? `Task \`${task.id}\` is waiting for an answer: ${task.question ?? ''}`
      : `Already on it: task \`${task.id}\` (${task.status}); its progress shows here too.`;
  acknowledge(deps, req.target, task, text);
}

async function submit(
  deps: LinearHandlerDeps,
  req: LinearRequest,
  issue: LinearIssue,
  what: { repo: string; instruction: string; context: string | undefined },
): Promise<void> {
  const target = req.target;
  let submitted: Awaited<ReturnType<TaskServices['submit']>>;
  try {
    submitted = await deps.services.submit({
      ...what,
      conversation: toConversationKey(req.issueId),
      branchKey: /^[A-Za-z0-9-]{1,40}$/.test(issue.identifier) ? issue.identifier : undefined,
      origin: {
        source: 'linear',
        label: `Linear ${issue.identifier}`,
        url: isHttpUrl(issue.url) ? issue.url : undefined,
        requester: req.requester,
      },
      replyTo: target,
      deliveryId: req.deliveryId,
    });
  } catch (err) {
    if (!(err instanceof PatchbayError) || !err.permanent) throw err;
    const hint = err.hint ? `\n\n${err.hint}` : '';
    const body = `I can't start that: ${err.message}${hint}`;
    return sayOnce(deps, target, req.deliveryId, { type: 'error', body });
  }
  if (submitted.kind === 'duplicate') return;
  const { task, kind } = submitted;
  const text = await acceptedText(deps, task, kind, what.repo);
  acknowledge(deps, target, task, text);
}

async function acceptedText(
  deps: LinearHandlerDeps,
  task: TaskRecord,
  kind: 'new' | 'answer',
  repo: string,
): Promise<string> {
  if (kind === 'answer') return `Thanks, task \`${task.id}\` goes on with your answer.`;
  const state = await deps.services.conversations.get(task.conversation);
  const pr = state?.pullRequest ? ` ([PR #${state.pullRequest.number}](${state.pullRequest.url}))` : '';
  const followUp = state ? ` Follow-up on \`${state.branch}\`${pr}.` : '';
  return `On it: \`${repo}\`, task \`${task.id}\`.${followUp}`;
}

async function withStartLock(deps: LinearHandlerDeps, conversation: string, work: () => Promise<void>) {
  const key = `linear:start-lock:${conversation}`;
  const token = `${process.pid}:${Math.random().toString(36).slice(2)}`;
  const until = Date.now() + LOCK_WAIT_MS;
  while (!(await deps.services.kv.setIfAbsent(key, token, LOCK_TTL_SECONDS))) {
    if (Date.now() > until) {
      throw new PatchbayError('internal', 'another start of this issue is being handled', {
        permanent: false,
      });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    await work();
  } finally {
    if ((await deps.services.kv.get(key)) === token) await deps.services.kv.delete(key);
  }
}

function cannotRead(deps: LinearHandlerDeps, req: LinearRequest): Promise<void> {
  const body = 'I could not read this issue, so nothing started.';
  return sayOnce(deps, req.target, req.deliveryId, { type: 'error', body });
}

function factsOf(issue: LinearIssue) {
  const labels = issue.labels.nodes.map((l) => l.name);
  return { labels, description: issue.description, teamKey: issue.team?.key, project: issue.project };
}

function askContent(deps: LinearHandlerDeps, route: IssueRoute & { kind: 'ask' }): ActivityContent {
  const allowed = allowedRepoList(deps.services.config);
  const how = 'add a `repo:owner/name` label or a GitHub link to the description, or reply with one';
  const body =
    route.reason === 'not_allowed'
      ? `I'm not allowed to work on \`${route.named ?? ''}\`. I may use ${allowed}: ${how}.`
      : `Which repository should I work on? I may use ${allowed}: ${how}.`;
  return { type: 'elicitation', body };
}

function isHttpUrl(value: string | null | undefined): value is string {
  if (!value) return false;
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}
