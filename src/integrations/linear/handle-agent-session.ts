import { PatchbayError } from '../../domain/errors.js';
import { FINAL_STATUSES } from '../../domain/task.js';
import type { Logger } from '../../lib/logger.js';
import type { TaskServices } from '../../server/integration.js';
import { toContext, toInstruction } from './issue-request.js';
import type { ActivityContent, LinearApi, LinearIssue } from './linear-api.js';
import { AgentSessionEvent, issueIdOf, toConversationKey } from './linear-events.js';
import type { LinearDelivery } from './linear-receiver.js';
import { allowedRepoList, type IssueRoute, routeIssueRepository } from './route-issue-repository.js';

const DAY_SECONDS = 86_400;

export interface LinearHandlerDeps {
  services: TaskServices;
  api: LinearApi;
  /** Linear calls that must not hold up the webhook's answer (tracked, so that stop() can wait). */
  background: (what: string, work: () => Promise<unknown>) => void;
  log: Logger;
}

interface Session {
  id: string;
  issueId: string;
  conversation: string;
  deliveryId: string;
  requester?: string;
}

/**
 * An `AgentSessionEvent`: `created` starts a task on the issue, `prompted` is a follow-up, the answer
 * to the agent's question, or (with the `stop` signal) a stop. Throws only when the work could not be
 * queued, so that Linear delivers again; everything else is answered in the session.
 */
export async function handleAgentSession(deps: LinearHandlerDeps, delivery: LinearDelivery): Promise<void> {
  const parsed = AgentSessionEvent.safeParse(delivery.body);
  const issueId = parsed.success ? issueIdOf(parsed.data) : undefined;
  if (!parsed.success || !issueId) {
    const { type, action } = delivery.envelope;
    deps.log.info({ type, action, delivery: delivery.deliveryId }, 'linear session event skipped');
    return;
  }
  const event = parsed.data;
  const session: Session = {
    id: event.agentSession.id,
    issueId,
    conversation: toConversationKey(issueId),
    // Without the header, the session and action stand for the delivery: still one task per event.
    deliveryId: `linear:${delivery.deliveryId ?? `${event.agentSession.id}:${event.action}`}`,
    requester: event.agentSession.creator?.name,
  };
  if (event.action === 'created') return onCreated(deps, session, event);
  if (event.agentActivity?.signal === 'stop') return onStop(deps, session);
  const said = event.agentActivity?.content.body?.trim();
  if (!said) return;
  return onPrompted(deps, session, said);
}

async function onCreated(deps: LinearHandlerDeps, session: Session, event: AgentSessionEvent) {
  const issue = await deps.api.fetchIssue(session.issueId);
  if (!issue) {
    return replyOnce(deps, session, {
      type: 'error',
      body: 'I could not read this issue, so nothing started.',
    });
  }
  const route = routeIssueRepository(
    {
      labels: issue.labels.nodes.map((l) => l.name),
      description: issue.description,
      teamKey: issue.team?.key,
      project: issue.project,
    },
    deps.services.config,
  );
  if (route.kind === 'ask') return replyOnce(deps, session, askContent(deps, route));
  await submit(deps, session, issue, {
    repo: route.repo,
    instruction: toInstruction(issue, event.agentSession.comment?.body),
    context: toContext(issue),
  });
}

async function onPrompted(deps: LinearHandlerDeps, session: Session, said: string) {
  const { services } = deps;
  const state = await services.conversations.get(session.conversation);
  const latestId = state ? null : await services.conversations.latest(session.conversation);
  const latest = latestId ? await services.getTask(latestId) : null;
  let repo = state?.repo ?? latest?.request.repo;
  const issue = await deps.api.fetchIssue(session.issueId);
  if (!issue) {
    return replyOnce(deps, session, {
      type: 'error',
      body: 'I could not read this issue, so nothing started.',
    });
  }
  if (!repo) {
    // No earlier work: route as for a new session, the prompt first (it may answer "which repository?").
    const labels = issue.labels.nodes.map((l) => l.name);
    const description = `${said}\n\n${issue.description ?? ''}`;
    const facts = { labels, description, teamKey: issue.team?.key, project: issue.project };
    const route = routeIssueRepository(facts, services.config);
    if (route.kind === 'ask') return replyOnce(deps, session, askContent(deps, route));
    repo = route.repo;
  }
  await submit(deps, session, issue, { repo, instruction: said.slice(0, 20_000), context: undefined });
}

async function submit(
  deps: LinearHandlerDeps,
  session: Session,
  issue: LinearIssue,
  what: { repo: string; instruction: string; context: string | undefined },
) {
  let submitted: Awaited<ReturnType<TaskServices['submit']>>;
  try {
    submitted = await deps.services.submit({
      ...what,
      conversation: session.conversation,
      branchKey: /^[A-Za-z0-9-]{1,40}$/.test(issue.identifier) ? issue.identifier : undefined,
      origin: {
        source: 'linear',
        label: `Linear ${issue.identifier}`,
        url: isHttpUrl(issue.url) ? issue.url : undefined,
        requester: session.requester,
        ref: { sessionId: session.id, issueId: session.issueId, identifier: issue.identifier },
      },
      deliveryId: session.deliveryId,
    });
  } catch (err) {
    if (!(err instanceof PatchbayError) || !err.permanent) throw err;
    const hint = err.hint ? `\n\n${err.hint}` : '';
    return replyOnce(deps, session, { type: 'error', body: `I can't start that: ${err.message}${hint}` });
  }
  if (submitted.kind === 'duplicate') return;
  const { task, kind } = submitted;
  deps.background('thought', async () => {
    const body = await acceptedText(deps, task.id, kind, what.repo, session.conversation);
    await deps.api.postActivity(session.id, { type: 'thought', body });
  });
}

async function acceptedText(
  deps: LinearHandlerDeps,
  taskId: string,
  kind: 'new' | 'answer',
  repo: string,
  conversation: string,
): Promise<string> {
  if (kind === 'answer') return `Thanks, task \`${taskId}\` goes on with your answer.`;
  const state = await deps.services.conversations.get(conversation);
  const pr = state?.pullRequest ? ` ([PR #${state.pullRequest.number}](${state.pullRequest.url}))` : '';
  const followUp = state ? ` Follow-up on \`${state.branch}\`${pr}.` : '';
  return `On it: \`${repo}\`, task \`${taskId}\`.${followUp}`;
}

/** The `stop` signal: cancels the issue's newest task, once per delivery. */
async function onStop(deps: LinearHandlerDeps, session: Session) {
  const { services } = deps;
  if (!(await services.kv.setIfAbsent(`linear:action:${session.deliveryId}`, '1', DAY_SECONDS))) return;
  const latest = await services.conversations.latest(session.conversation);
  const task = latest ? await services.getTask(latest) : null;
  if (!task || FINAL_STATUSES.has(task.status)) {
    return post(deps, session, { type: 'response', body: 'Nothing is running for this issue.' });
  }
  const after = await services.cancel(task.id);
  deps.log.info({ taskId: task.id, conversation: session.conversation }, 'linear stop requested');
  // A running task is stopped by its worker, whose reporter says so; a queued or waiting one is over now.
  if (after.status === 'cancelled') {
    post(deps, session, { type: 'response', body: `Stopped task \`${task.id}\`.` });
  }
}

/** A reply that starts no task, once per delivery: a redelivery says nothing twice. */
async function replyOnce(deps: LinearHandlerDeps, session: Session, content: ActivityContent) {
  if (!(await deps.services.kv.setIfAbsent(`linear:reply:${session.deliveryId}`, '1', DAY_SECONDS))) return;
  post(deps, session, content);
}

function post(deps: LinearHandlerDeps, session: Session, content: ActivityContent): void {
  deps.background(content.type, () => deps.api.postActivity(session.id, content));
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
