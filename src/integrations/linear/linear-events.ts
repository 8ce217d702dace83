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
