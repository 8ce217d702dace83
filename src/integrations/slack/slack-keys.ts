/** Where a Slack task lives: one thread of one channel of one workspace. */
export interface ThreadRef {
  team: string;
  channel: string;
  /** The thread's root: `event.thread_ts ?? event.ts`. */
  threadTs: string;
}

/** The conversation key (a contract): `slack:<team_id>:<channel>:<thread_ts>`. */
export function toConversationKey(ref: ThreadRef): string {
  return `slack:${ref.team}:${ref.channel}:${ref.threadTs}`;
}

/** Key-value names, in Slack's own store (`kv:slack:…` in Redis, as before it had one). */
export const kvKeys = {
  /** The status message of one run of a task in one thread, so that any worker edits the same message. */
  status: (taskId: string, run: number, thread: { channel: string; threadTs: string }) =>
    `status:${taskId}:${run}:${thread.channel}:${thread.threadTs}`,
  /** Which thread a message the bot posted belongs to: reactions name the message, not the thread. */
  message: (channel: string, ts: string) => `msg:${channel}:${ts}`,
  /** An event already answered without a task (refusal, question, status), so a retry says nothing twice. */
  event: (eventId: string) => `event:${eventId}`,
  /** This thread is a Slack agent session. */
  agentThread: (conversation: string) => `agent:${conversation}`,
  /** `0` when the app turned out not to be declared as an agent in this workspace (cached for a while). */
  agentApp: (team: string) => `agent-app:${team}`,
  /** A channel's name, learnt after a task from it was queued, for the origin of the next one. */
  channelName: (channel: string) => `channel-name:${channel}`,
} as const;

export const DAY_SECONDS = 86_400;
