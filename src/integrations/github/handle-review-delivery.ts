import type { RepositoryRules } from '../../config/repository-rules.js';
import type { ConversationState } from '../../domain/conversation.js';
import { PatchbayError } from '../../domain/errors.js';
import type { Origin } from '../../domain/task-request.js';
import type { RunInBackground } from '../../lib/background-work.js';
import { type Clock, systemClock } from '../../lib/clock.js';
import { withDeadline } from '../../lib/deadline.js';
import type { Logger } from '../../lib/logger.js';
import type { TaskServices } from '../../server/integration.js';
import type { DispatchResult, GitHubDelivery } from './github-webhook-receiver.js';
import type { ReviewApi, ReviewComment } from './review-api.js';
import { buildReviewRequest } from './review-context.js';
import { parseReviewDelivery, type ReviewTrigger, type WebhookPull } from './review-events.js';
import { asksForWork, botReason, checkPatchbayPull, followUpKey } from './review-rules.js';

export interface ReviewDeps {
  tasks: Pick<TaskServices, 'submit' | 'conversations'>;
  repositories: RepositoryRules;
  api: ReviewApi;
  botLogin: () => Promise<string>;
  mayWrite: (repo: string, login: string) => Promise<boolean>;
  /** Work that must not hold up the answer to GitHub (the 👀 reaction). */
  background: RunInBackground;
  log: Logger;
  /** A person (not a bot) commented on or reviewed a pull request: the autofix counts rounds anew. */
  onPersonActivity?: (repo: string, pull: number) => Promise<void>;
  /** The look-ups before queueing give up after this long (default 8 s; GitHub waits 10 s). */
  deadlineMs?: number;
  clock?: Clock;
}

/** Why a delivery starts nothing: logged as one line, answered 200. */
class Skip extends Error {}

/**
 * One verified delivery of `issue_comment`, `pull_request_review_comment` or `pull_request_review`
 * → at most one follow-up task in the conversation of the pull request's marker. Everything that
 * decides whether to start work runs before queueing and is bounded; the 👀 goes out in the
 * background as soon as the delivery is known to ask for work from someone allowed to.
 */
export async function handleReviewDelivery(
  deps: ReviewDeps,
  delivery: GitHubDelivery,
): Promise<DispatchResult> {
  const parsed = parseReviewDelivery(delivery.event, delivery.body);
  const meta = { event: delivery.event, delivery: delivery.deliveryId };
  if (parsed.kind === 'malformed') {
    deps.log.warn({ ...meta, reason: parsed.reason }, 'github webhook malformed');
    return 'malformed';
  }
  if (parsed.kind === 'ignored') {
    deps.log.info({ ...meta, reason: parsed.reason }, 'github event not handled; skipped');
    return 'ignored';
  }
  const trigger = parsed.trigger;
  const log = deps.log.child({
    ...meta,
    repo: trigger.repo,
    pr: trigger.number,
    sender: trigger.sender.login,
  });
  await notePersonActivity(deps, trigger, log);
  try {
    const ms = deps.deadlineMs ?? 8_000;
    await withDeadline(
      queueFollowUp(deps, trigger, delivery.deliveryId, log),
      ms,
      `github look-ups took longer than ${ms} ms`,
      deps.clock ?? systemClock,
    );
    return 'queued';
  } catch (err) {
    if (!(err instanceof Skip)) throw err;
    log.info({ reason: err.message }, 'github delivery skipped');
    return 'ignored';
  }
}

/** Any comment or review by a person on a pull request of the allowlist, whether or not it asks for work. */
async function notePersonActivity(deps: ReviewDeps, trigger: ReviewTrigger, log: Logger): Promise<void> {
  if (!deps.onPersonActivity || !deps.repositories.find(trigger.repo)) return;
  try {
    if (botReason(trigger.sender, await deps.botLogin())) return;
    await deps.onPersonActivity(trigger.repo, trigger.number);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not note the comment for the autofix');
  }
}

async function queueFollowUp(deps: ReviewDeps, trigger: ReviewTrigger, deliveryId: string, log: Logger) {
  const { pull, marker } = await checkAllowed(deps, trigger);
  const { id: conversation } = await conversationFor(deps, marker, trigger, pull);
  const comments =
    trigger.reviewId === undefined
      ? []
      : await deps.api.reviewComments(trigger.repo, trigger.number, trigger.reviewId);
  const request = buildReviewRequest(trigger, comments);
  try {
    const { task, kind } = await deps.tasks.submit({
      repo: trigger.repo,
      conversation,
      ...request,
      origin: originOf(trigger, pull),
      replyTo: { kind: 'github-pull', repo: trigger.repo, number: pull.number },
      deliveryId: followUpKey(trigger, deliveryId),
    });
    log.info({ taskId: task.id, kind, conversation }, 'github follow-up queued');
  } catch (err) {
    // A request that can never be queued (the conversation works elsewhere) is answered, not retried.
    if (err instanceof PatchbayError && err.permanent) throw new Skip(`${err.code}: ${err.message}`);
    throw err;
  }
  // Only once the work is queued: a 👀 on a delivery that then failed would promise work that never runs.
  const target = trigger.reaction ?? firstComment(comments);
  if (target) deps.background('eyes', () => deps.api.react(trigger.repo, target, 'eyes'));
}

/** Whether the sender may start work on this pull request: the conversation its marker names, or a Skip. */
async function checkAllowed(deps: ReviewDeps, trigger: ReviewTrigger) {
  if (!asksForWork(trigger)) throw new Skip('does not ask Patchbay for anything');
  if (!deps.repositories.find(trigger.repo)) throw new Skip('repository not on the allowlist');
  const botLogin = await deps.botLogin();
  const bot = botReason(trigger.sender, botLogin);
  if (bot) throw new Skip(bot);
  const pull = trigger.pull ?? (await deps.api.getPull(trigger.repo, trigger.number));
  const checked = checkPatchbayPull(pull, trigger.repo, botLogin);
  if ('reason' in checked) throw new Skip(checked.reason);
  if (!(await deps.mayWrite(trigger.repo, trigger.sender.login)))
    throw new Skip('sender has no write access');
  return { pull, marker: checked.marker.conversation };
}

/**
 * The conversation to continue, and its stored state. The marker's conversation counts only while its
 * state exists and is this pull request's: a person may edit the marker. Without state, the marker's
 * id is not revived, since it may name a conversation that has no state yet (a Slack thread whose
 * first task is still queued) and would then take this PR's branch; the PR gets a conversation of its
 * own instead, made from its head branch, number and base, so that the follow-up works on that branch.
 */
async function conversationFor(
  deps: ReviewDeps,
  markerId: string,
  trigger: ReviewTrigger,
  pull: WebhookPull,
): Promise<{ id: string; state: ConversationState | null }> {
  const { conversations } = deps.tasks;
  const marked = await conversations.stored(markerId);
  if (marked) return { id: markerId, state: checkSamePull(marked, trigger, pull) };
  const id = `github:${trigger.repo.toLowerCase()}/pull/${pull.number}`;
  const own = await conversations.stored(id);
  if (own) return { id, state: checkSamePull(own, trigger, pull) };
  await conversations.adoptPullRequest({
    id,
    repo: trigger.repo,
    branch: pull.head.ref,
    base: pull.base.ref,
    pullRequest: { number: pull.number, url: pull.html_url },
  });
  return { id, state: null };
}

function checkSamePull(state: ConversationState, trigger: ReviewTrigger, pull: WebhookPull) {
  const sameRepo = state.repo.toLowerCase() === trigger.repo.toLowerCase();
  const samePull = state.pullRequest
    ? state.pullRequest.number === pull.number
    : state.branch === pull.head.ref;
  if (!sameRepo || !samePull) throw new Skip('the marker names a conversation of another pull request');
  return state;
}

/** A review event has no comment of its own: its 👀 goes on the review's first inline comment. */
function firstComment(comments: ReviewComment[]): ReviewTrigger['reaction'] {
  const first = comments[0];
  return first ? { kind: 'review_comment', commentId: first.id } : undefined;
}

function originOf(trigger: ReviewTrigger, pull: WebhookPull): Origin {
  return {
    source: 'github',
    label: `GitHub ${trigger.repo}#${pull.number}`.slice(0, 200),
    url: /^https?:\/\//.test(trigger.url) ? trigger.url : undefined,
    requester: trigger.sender.login.slice(0, 200),
  };
}
