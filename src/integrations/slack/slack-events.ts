import { z } from 'zod';

/** The envelope of every Events API delivery we act on (https://docs.slack.dev/apis/events-api). */
export const EventEnvelope = z.object({
  type: z.literal('event_callback'),
  team_id: z.string().min(1),
  event_id: z.string().min(1),
  event: z.object({ type: z.string() }).passthrough(),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

export const UrlVerification = z.object({
  type: z.literal('url_verification'),
  challenge: z.string().max(500),
});

const Ts = z.string().regex(/^\d+\.\d+$/);

/** Set on events from a person of another organisation (Slack Connect): only the home team may act. */
const Teams = { user_team: z.string().optional(), source_team: z.string().optional() };

export const MentionEvent = z.object({
  type: z.literal('app_mention'),
  ...Teams,
  /** Set when another app's bot wrote the mention: bots never start work. */
  bot_id: z.string().optional(),
  subtype: z.string().optional(),
  user: z.string().min(1),
  text: z.string().max(40_000),
  ts: Ts,
  channel: z.string().min(1),
  thread_ts: Ts.optional(),
});
export type MentionEvent = z.infer<typeof MentionEvent>;

export const MessageEvent = z.object({
  type: z.literal('message'),
  ...Teams,
  subtype: z.string().optional(),
  bot_id: z.string().optional(),
  user: z.string().optional(),
  text: z.string().max(40_000).default(''),
  ts: Ts,
  channel: z.string().min(1),
  thread_ts: Ts.optional(),
});
export type MessageEvent = z.infer<typeof MessageEvent>;

export const ReactionEvent = z.object({
  type: z.literal('reaction_added'),
  ...Teams,
  user: z.string().min(1),
  reaction: z.string(),
  item_user: z.string().optional(),
  item: z.object({ type: z.string(), channel: z.string().optional(), ts: Ts.optional() }),
});
export type ReactionEvent = z.infer<typeof ReactionEvent>;

export const AgentSessionStopped = z.object({
  type: z.literal('agent_session_stopped'),
  ...Teams,
  user: z.string().min(1),
  channel: z.string().min(1),
  thread_ts: Ts,
});

/**
 * Message subtypes that are still a person writing in the thread: "also send to channel"
 * (`thread_broadcast`) and a message with a file (`file_share`). Every other subtype (edits, joins,
 * bot messages, …) is not somebody saying something new.
 */
const PERSON_SUBTYPES = new Set(['thread_broadcast', 'file_share']);

export function isPersonMessage(subtype: string | undefined): boolean {
  return subtype === undefined || PERSON_SUBTYPES.has(subtype);
}

/** Earlier messages of a thread, as conversations.replies returns them (only what we use). */
export const Replies = z.object({
  messages: z
    .array(
      z
        .object({
          ts: z.string(),
          text: z.string().default(''),
          user: z.string().optional(),
          bot_id: z.string().optional(),
          subtype: z.string().optional(),
        })
        .passthrough(),
    )
    .default([]),
  response_metadata: z.object({ next_cursor: z.string().optional() }).optional(),
});
export type Replies = z.infer<typeof Replies>;

/** A person from another organisation in a shared channel: DESIGN lets only the home workspace act. */
export function isFromAnotherTeam(
  body: { team_id: string },
  event: { user_team?: string; source_team?: string },
) {
  const team = event.user_team ?? event.source_team;
  return team !== undefined && team !== body.team_id;
}
