import { PatchbayError } from '../../domain/errors.js';
import { modelFromLabels } from '../../domain/request-options.js';
import type { TaskRecord } from '../../domain/task.js';
import type { ConversationView, TaskServices } from '../../server/integration.js';
import { toContext, toInstruction } from './issue-request.js';
import type { ActivityContent, LinearIssue } from './linear-api.js';
import { toConversationKey } from './linear-events.js';
import { acknowledge, apiAt, type LinearHandlerDeps, sayOnce } from './linear-replies.js';
import type { LinearTarget } from './linear-targets.js';
import { type IssueRoute, routeIssueRepository } from './route-issue-repository.js';

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
    const joined = await deps.tasks.conversations.joinActive(conversation, req.target);
    if (joined) return attached(deps, req, joined);
    const before = await deps.tasks.conversations.view(conversation);
    const issue = await apiAt(deps, req.target).fetchIssue(req.issueId);
    if (!issue) return cannotRead(deps, req);
    const route = routeIssueRepository(factsOf(issue), deps.rules);
    if (route.kind === 'ask') return sayOnce(deps, req.target, req.deliveryId, askContent(deps, route));
    await submit(deps, req, issue, before, {
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
  const before = await deps.tasks.conversations.view(toConversationKey(req.issueId));
  let repo = before?.repo;
  const issue = await apiAt(deps, req.target).fetchIssue(req.issueId);
  if (!issue) return cannotRead(deps, req);
  if (!repo) {
    // No earlier work: route as for a start, the message first (it may answer "which repository?").
    const facts = { ...factsOf(issue), description: `${said}\n\n${issue.description ?? ''}` };
    const route = routeIssueRepository(facts, deps.rules);
    if (route.kind === 'ask') return sayOnce(deps, req.target, req.deliveryId, askContent(deps, route));
    repo = route.repo;
  }
  await submit(deps, req, issue, before, { repo, instruction: said.slice(0, 20_000), context: undefined });
}

/** A start event joined the issue's task under way: said there once, unless the place heard already. */
async function attached(
  deps: LinearHandlerDeps,
  req: LinearRequest,
  { task, joined }: { task: TaskRecord; joined: boolean },
): Promise<void> {
  deps.log.info(
    { taskId: task.id, conversation: task.conversation, target: req.target.kind, joined },
    'linear start event attached to the issue’s task',
  );
  if (!joined || !(await deps.kv.setIfAbsent(`reply:${req.deliveryId}`, '1', 86_400))) return;
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
  before: ConversationView | null,
  what: { repo: string; instruction: string; context: string | undefined },
): Promise<void> {
  const target = req.target;
  let submitted: Awaited<ReturnType<TaskServices['submit']>>;
  try {
    submitted = await deps.tasks.submit({
      ...what,
      conversation: toConversationKey(req.issueId),
      // A `patchbay:model=<name>` label chooses the model; an unknown name is refused like a bad repo.
      model: modelFromLabels(issue.labels.nodes.map((l) => l.name)),
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
  acknowledge(deps, target, task, acceptedText(task, kind, what.repo, before));
}

function acceptedText(
  task: TaskRecord,
  kind: 'new' | 'answer',
  repo: string,
  before: ConversationView | null,
): string {
  if (kind === 'answer') return `Thanks, task \`${task.id}\` goes on with your answer.`;
  const pr = before?.pullRequest ? ` ([PR #${before.pullRequest.number}](${before.pullRequest.url}))` : '';
  const followUp = before?.branch ? ` Follow-up on \`${before.branch}\`${pr}.` : '';
  return `On it: \`${repo}\`, task \`${task.id}\`.${followUp}`;
}

async function withStartLock(deps: LinearHandlerDeps, conversation: string, work: () => Promise<void>) {
  const until = Date.now() + LOCK_WAIT_MS;
  let lock = await deps.kv.tryLock(`start:${conversation}`, LOCK_TTL_SECONDS);
  while (!lock) {
    if (Date.now() > until) {
      throw new PatchbayError('internal', 'another start of this issue is being handled', {
        permanent: false,
      });
    }
    await new Promise((r) => setTimeout(r, 50));
    lock = await deps.kv.tryLock(`start:${conversation}`, LOCK_TTL_SECONDS);
  }
  try {
    await work();
  } finally {
    await lock.release();
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
  const allowed = deps.rules.repositories.describe();
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
