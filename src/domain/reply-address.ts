import { z } from 'zod';

/**
 * A place that hears about a task: where it was asked, and every place that joined it since (a
 * follow-up from another place, an answer given elsewhere, a Linear delegation joining a running
 * task). Each kind belongs to one integration, which alone makes and reads it; the worker routes every
 * event of a task to the reporter of each of its addresses.
 */

/** A Slack thread (integrations/slack). `messageTs` is the message that asked: it gets ✅, ❌ or 🛑. */
export const SlackThreadAddress = z.object({
  kind: z.literal('slack-thread'),
  team: z.string().min(1).max(40),
  channel: z.string().min(1).max(40),
  threadTs: z.string().min(1).max(40),
  messageTs: z.string().min(1).max(40).optional(),
});

/** A Linear agent session on an issue (integrations/linear): activities, a plan, the PR as its link. */
export const LinearSessionAddress = z.object({
  kind: z.literal('linear-session'),
  sessionId: z.string().min(1).max(100),
  issueId: z.string().min(1).max(100),
  organizationId: z.string().min(1).max(100).optional(),
});

/** A Linear issue in assignment mode (integrations/linear): a progress comment and the result in a reply. */
export const LinearIssueAddress = z.object({
  kind: z.literal('linear-issue'),
  issueId: z.string().min(1).max(100),
  organizationId: z.string().min(1).max(100).optional(),
});

/** A pull request's conversation on GitHub (integrations/github): a comment with the result. */
export const GitHubPullAddress = z.object({
  kind: z.literal('github-pull'),
  repo: z.string().min(3).max(200),
  number: z.number().int().positive(),
});

export const ReplyAddress = z.discriminatedUnion('kind', [
  SlackThreadAddress,
  LinearSessionAddress,
  LinearIssueAddress,
  GitHubPullAddress,
]);
export type ReplyAddress = z.infer<typeof ReplyAddress>;
export type ReplyAddressKind = ReplyAddress['kind'];
export type SlackThreadAddress = z.infer<typeof SlackThreadAddress>;
export type LinearSessionAddress = z.infer<typeof LinearSessionAddress>;
export type LinearIssueAddress = z.infer<typeof LinearIssueAddress>;
export type GitHubPullAddress = z.infer<typeof GitHubPullAddress>;

/** A task's audience never grows past this: a list in Redis must be capped. */
export const MAX_AUDIENCE = 20;

/** The identity of a place: two addresses with the same key are the same place. */
export function addressKey(address: ReplyAddress): string {
  switch (address.kind) {
    case 'slack-thread':
      return `slack-thread:${address.team}:${address.channel}:${address.threadTs}`;
    case 'linear-session':
      return `linear-session:${address.sessionId}`;
    case 'linear-issue':
      return `linear-issue:${address.issueId}`;
    case 'github-pull':
      return `github-pull:${address.repo.toLowerCase()}#${address.number}`;
  }
}

/** The integration an address belongs to. */
export function integrationOf(address: ReplyAddress): 'slack' | 'linear' | 'github' {
  return address.kind === 'slack-thread' ? 'slack' : address.kind === 'github-pull' ? 'github' : 'linear';
}

/**
 * The audience of a new task: the place it was asked from, and the place its conversation began when
 * that is another integration's (a review comment on the pull request of a conversation that began
 * in a Slack thread or a Linear issue also reports there).
 */
export function audienceOf(
  replyTo: ReplyAddress | undefined,
  conversationBeganIn: ReplyAddress | undefined,
): ReplyAddress[] {
  const audience = replyTo ? [replyTo] : [];
  if (conversationBeganIn && replyTo && integrationOf(conversationBeganIn) !== integrationOf(replyTo)) {
    audience.push(conversationBeganIn);
  }
  return audience;
}
