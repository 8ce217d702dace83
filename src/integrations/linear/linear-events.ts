import { z } from 'zod';

/** What every Linear webhook carries (https://linear.app/developers/webhooks). */
export const WebhookEnvelope = z
  .object({
    type: z.string().min(1).max(100),
    action: z.string().max(100).optional(),
    webhookTimestamp: z.number(),
  })
  .passthrough();
export type WebhookEnvelope = z.infer<typeof WebhookEnvelope>;

const ChildIssue = z.object({
  id: z.string().min(1),
  identifier: z.string().min(1).max(40),
  title: z.string().optional(),
  url: z.string().optional(),
});

/**
 * An agent session event (`type: AgentSessionEvent`): `created` when someone delegates an issue to the
 * agent or mentions it, `prompted` when they write in the session (a stop is a prompt with
 * `signal: stop`). Only the fields Patchbay uses; text is untrusted.
 */
export const AgentSessionEvent = z.object({
  type: z.literal('AgentSessionEvent'),
  action: z.enum(['created', 'prompted']),
  organizationId: z.string().optional(),
  agentSession: z.object({
    id: z.string().min(1),
    issueId: z.string().nullish(),
    issue: ChildIssue.nullish(),
    comment: z.object({ body: z.string().max(50_000) }).nullish(),
    creator: z.object({ name: z.string().max(200) }).nullish(),
    url: z.string().nullish(),
  }),
  agentActivity: z
    .object({
      content: z.object({ type: z.string(), body: z.string().max(50_000).optional() }).passthrough(),
      signal: z.string().nullish(),
    })
    .nullish(),
});
export type AgentSessionEvent = z.infer<typeof AgentSessionEvent>;

/** The issue of a session, whichever of the two fields Linear filled. */
export function issueIdOf(event: AgentSessionEvent): string | undefined {
  return event.agentSession.issue?.id ?? event.agentSession.issueId ?? undefined;
}

/** The conversation key (a contract): `linear:<issueId>`; every session on the issue shares it. */
export function toConversationKey(issueId: string): string {
  return `linear:${issueId}`;
}

/**
 * An `Issue` data-change webhook (https://linear.app/developers/webhooks#data-change-events-payload):
 * `data` is the issue as it is now; on `update`, `updatedFrom` holds the previous values of the fields
 * that changed (a key present with `null` means it was empty before).
 */
export const IssueWebhook = z.object({
  type: z.literal('Issue'),
  action: z.enum(['create', 'update', 'remove']),
  organizationId: z.string().optional(),
  data: z.object({
    id: z.string().min(1),
    identifier: z.string().max(40).optional(),
    assigneeId: z.string().nullish(),
  }),
  updatedFrom: z.record(z.string(), z.unknown()).nullish(),
});
export type IssueWebhook = z.infer<typeof IssueWebhook>;

/** A `Comment` data-change webhook: `data` is the comment; only comments on issues matter here. */
export const CommentWebhook = z.object({
  type: z.literal('Comment'),
  action: z.enum(['create', 'update', 'remove']),
  organizationId: z.string().optional(),
  data: z.object({
    id: z.string().min(1),
    body: z.string().max(50_000),
    issueId: z.string().min(1).nullish(),
    userId: z.string().nullish(),
    parentId: z.string().nullish(),
    user: z.object({ id: z.string().optional(), name: z.string().max(200) }).nullish(),
    /** Set when an integration or app wrote it, or someone outside the workspace through a sync. */
    botActor: z.unknown().nullish(),
    externalUserId: z.string().nullish(),
    externalUser: z.unknown().nullish(),
  }),
});
export type CommentWebhook = z.infer<typeof CommentWebhook>;
