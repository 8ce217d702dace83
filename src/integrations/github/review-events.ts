import { z } from 'zod';

const Account = z.object({ login: z.string().min(1), type: z.string().optional() });
const Repository = z.object({ full_name: z.string().min(1) });

/** The fields of a webhook's `pull_request` Patchbay relies on (review events carry the whole PR). */
export const WebhookPull = z.object({
  number: z.number().int().positive(),
  html_url: z.string(),
  state: z.string(),
  body: z.string().nullable().optional(),
  user: Account.nullable(),
  head: z.object({ ref: z.string(), sha: z.string().optional(), repo: Repository.nullable() }),
  base: z.object({ ref: z.string() }),
});
export type WebhookPull = z.infer<typeof WebhookPull>;

/** `issue_comment`: https://docs.github.com/webhooks/webhook-events-and-payloads#issue_comment */
const IssueComment = z.object({
  action: z.string(),
  issue: z.object({
    number: z.number().int().positive(),
    pull_request: z.object({}).passthrough().optional(),
  }),
  comment: z.object({
    id: z.number().int(),
    body: z.string().nullable(),
    html_url: z.string(),
    user: Account,
  }),
  repository: Repository,
  sender: Account,
});

/** `pull_request_review_comment`: an inline comment, always part of a review (`pull_request_review_id`). */
const ReviewComment = z.object({
  action: z.string(),
  comment: z.object({
    id: z.number().int(),
    body: z.string().nullable(),
    html_url: z.string(),
    user: Account,
    pull_request_review_id: z.number().int().nullable().optional(),
  }),
  pull_request: WebhookPull,
  repository: Repository,
  sender: Account,
});

/** `pull_request_review`: submitted once per review, before or after its comments' own events. */
const Review = z.object({
  action: z.string(),
  review: z.object({
    id: z.number().int(),
    body: z.string().nullable(),
    state: z.string(),
    html_url: z.string(),
    user: Account.nullable(),
  }),
  pull_request: WebhookPull,
  repository: Repository,
  sender: Account,
});

/** One delivery that may start a follow-up, whatever its event: who said what where. */
export interface ReviewTrigger {
  event: 'issue_comment' | 'pull_request_review_comment' | 'pull_request_review';
  repo: string;
  number: number;
  sender: { login: string; type?: string };
  /** The comment's or the review's text (untrusted). */
  body: string;
  url: string;
  /** The comment to put 👀 on, and which API it belongs to. */
  reaction?: { kind: 'issue_comment' | 'review_comment'; commentId: number };
  /** The review the delivery belongs to: its comments are fetched and it keys the follow-up. */
  reviewId?: number;
  reviewState?: string;
  /** Present on review events; an issue comment's PR is looked up. */
  pull?: WebhookPull;
}

export type ParsedDelivery =
  | { kind: 'trigger'; trigger: ReviewTrigger }
  | { kind: 'ignored'; reason: string }
  | { kind: 'malformed'; reason: string };

/** A verified delivery → a trigger candidate, a reason to ignore it, or malformed (400). */
export function parseReviewDelivery(event: string, body: unknown): ParsedDelivery {
  switch (event) {
    case 'issue_comment':
      return parseIssueComment(body);
    case 'pull_request_review_comment':
      return parseReviewComment(body);
    case 'pull_request_review':
      return parseReview(body);
    default:
      return { kind: 'ignored', reason: 'event not handled' };
  }
}

function parseIssueComment(body: unknown): ParsedDelivery {
  const parsed = IssueComment.safeParse(body);
  if (!parsed.success) return { kind: 'malformed', reason: 'not an issue_comment payload' };
  const p = parsed.data;
  if (p.action !== 'created') return { kind: 'ignored', reason: `action ${p.action}` };
  if (!p.issue.pull_request) return { kind: 'ignored', reason: 'comment on an issue, not a pull request' };
  return {
    kind: 'trigger',
    trigger: {
      event: 'issue_comment',
      repo: p.repository.full_name,
      number: p.issue.number,
      sender: p.sender,
      body: p.comment.body ?? '',
      url: p.comment.html_url,
      reaction: { kind: 'issue_comment', commentId: p.comment.id },
    },
  };
}

function parseReviewComment(body: unknown): ParsedDelivery {
  const parsed = ReviewComment.safeParse(body);
  if (!parsed.success) return { kind: 'malformed', reason: 'not a pull_request_review_comment payload' };
  const p = parsed.data;
  if (p.action !== 'created') return { kind: 'ignored', reason: `action ${p.action}` };
  return {
    kind: 'trigger',
    trigger: {
      event: 'pull_request_review_comment',
      repo: p.repository.full_name,
      number: p.pull_request.number,
      sender: p.sender,
      body: p.comment.body ?? '',
      url: p.comment.html_url,
      reaction: { kind: 'review_comment', commentId: p.comment.id },
      reviewId: p.comment.pull_request_review_id ?? undefined,
      pull: p.pull_request,
    },
  };
}

function parseReview(body: unknown): ParsedDelivery {
  const parsed = Review.safeParse(body);
  if (!parsed.success) return { kind: 'malformed', reason: 'not a pull_request_review payload' };
  const p = parsed.data;
  if (p.action !== 'submitted') return { kind: 'ignored', reason: `action ${p.action}` };
  return {
    kind: 'trigger',
    trigger: {
      event: 'pull_request_review',
      repo: p.repository.full_name,
      number: p.pull_request.number,
      sender: p.sender,
      body: p.review.body ?? '',
      url: p.review.html_url,
      reviewId: p.review.id,
      reviewState: p.review.state.toLowerCase(),
      pull: p.pull_request,
    },
  };
}
