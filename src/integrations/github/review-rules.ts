import { isPatchbayBranch } from '../../domain/conversation.js';
import { parsePullRequestMarker } from './pr-body.js';
import type { ReviewTrigger, WebhookPull } from './review-events.js';

/** `@patchbay` as a word of its own (not `@patchbay-bot`, not an e-mail address). */
const MENTION = /(?<![\w.@/-])@patchbay(?![\w-])/i;
const MENTION_ALL = /(?<![\w.@/-])@patchbay(?![\w-])/gi;

/**
 * Text a person wrote, without what only quotes someone: fenced code blocks, inline code and `>`
 * quoted lines. A reply that quotes an earlier `@patchbay` comment does not ask again.
 */
function ownWords(text: string): string {
  return text
    .replace(/^ {0,3}(`{3,}|~{3,})[\s\S]*?(?:^ {0,3}\1[^\n]*$|(?![\s\S]))/gm, '')
    .replace(/`[^`\n]*`/g, '')
    .split('\n')
    .filter((line) => !/^\s*>/.test(line))
    .join('\n');
}

export function mentionsPatchbay(text: string): boolean {
  return MENTION.test(ownWords(text));
}

/** The request with the mention taken out; empty when the comment was only the mention. */
export function withoutMention(text: string): string {
  return text.replace(MENTION_ALL, '').trim();
}

/**
 * Whether the delivery asks for work: a comment that mentions `@patchbay`, or a submitted review
 * that requests changes or mentions it in its body.
 */
export function asksForWork(trigger: ReviewTrigger): boolean {
  if (trigger.event !== 'pull_request_review') return mentionsPatchbay(trigger.body);
  return trigger.reviewState === 'changes_requested' || mentionsPatchbay(trigger.body);
}

/** Why the sender may not start work by being a bot (Patchbay itself included), or null. */
export function botReason(sender: ReviewTrigger['sender'], botLogin: string): string | null {
  if (sender.login.toLowerCase() === botLogin.toLowerCase()) return 'comment by Patchbay itself';
  if (sender.type === 'Bot' || /\[bot\]$/i.test(sender.login)) return 'comment by a bot';
  return null;
}

/**
 * A pull request counts as Patchbay's only with all three: its hidden marker, a `patchbay/` head
 * branch and Patchbay as its author; and its head must be in the same repository (no fork). The
 * title never counts. Returns the marker, or why not.
 */
export function checkPatchbayPull(
  pull: WebhookPull,
  repo: string,
  botLogin: string,
): { marker: { taskId: string; conversation: string } } | { reason: string } {
  const marker = parsePullRequestMarker(pull.body ?? '');
  if (!marker) return { reason: 'pull request has no Patchbay marker' };
  if (!isPatchbayBranch(pull.head.ref)) {
    return { reason: 'head branch is not a patchbay/ branch' };
  }
  if (pull.user?.login.toLowerCase() !== botLogin.toLowerCase()) {
    return { reason: 'pull request was not opened by Patchbay' };
  }
  if (pull.head.repo?.full_name.toLowerCase() !== repo.toLowerCase()) {
    return { reason: 'head branch is in another repository (a fork)' };
  }
  if (pull.state !== 'open') return { reason: 'pull request is not open' };
  return { marker };
}

/**
 * The follow-up's idempotency key. GitHub fans a submitted review out into one `pull_request_review`
 * and one `pull_request_review_comment` per inline comment: every delivery of one review shares the
 * review's key, so that the first that asks for work makes the one follow-up (carrying all of the
 * review's comments) and the rest answer that task. An issue comment is keyed by its delivery id.
 */
export function followUpKey(trigger: ReviewTrigger, deliveryId: string): string {
  if (trigger.reviewId !== undefined)
    return `github:review:${trigger.repo.toLowerCase()}:${trigger.reviewId}`;
  return `github:${deliveryId}`;
}
