import type { KeyValueStore } from '../../domain/ports.js';
import type { SlackThreadAddress } from '../../domain/reply-address.js';
import type { Logger } from '../../lib/logger.js';
import type { WebClient } from './slack-client.js';
import { DAY_SECONDS, kvKeys, type ThreadRef, toConversationKey } from './slack-keys.js';

/** A thread the bot talks in. */
export interface Thread {
  team: string;
  channel: string;
  threadTs: string;
  /** Its conversation key. */
  conversation: string;
}

/** The thread of `ref`, with its conversation key. */
export function toThread(ref: ThreadRef): Thread {
  return { ...ref, conversation: toConversationKey(ref) };
}

export type SessionStatus = 'processing' | 'active' | 'suspended' | 'closed';

/** The error code of a Web API platform error (`{ ok: false, error }`), if that is what `err` is. */
export function slackErrorCode(err: unknown): string | undefined {
  const data = (err as { data?: { error?: unknown } } | null)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

/**
 * What the bot does in a thread: post (remembering which thread each of its messages belongs to, so
 * that a ❌ on one of them finds its task), edit, react, and drive the Slack agent session.
 */
export function createThreadActions(deps: {
  client: WebClient;
  kv: KeyValueStore;
  log: Logger;
  retentionDays: number;
}) {
  const { client, kv, log } = deps;
  const ttl = deps.retentionDays * DAY_SECONDS;
  /**
   * Workspaces known here not to offer agent sessions, until when (ms): every mention asks, and the
   * answer changes at most hourly, so it is not read from Redis each time. Another process's finding
   * is read from Redis and then kept a minute.
   */
  const notAgentUntil = new Map<string, number>();
  const NOT_AGENT_SECONDS = 3_600;

  async function offersSessions(team: string): Promise<boolean> {
    if ((notAgentUntil.get(team) ?? 0) > Date.now()) return false;
    notAgentUntil.delete(team);
    if ((await kv.get(kvKeys.agentApp(team))) !== '0') return true;
    notAgentUntil.set(team, Date.now() + 60_000);
    return false;
  }

  async function post(thread: Thread, text: string): Promise<string> {
    const res = await client.chat.postMessage({
      channel: thread.channel,
      thread_ts: thread.threadTs,
      text,
      unfurl_links: false,
    });
    const ts = typeof res.ts === 'string' ? res.ts : '';
    if (ts) await kv.set(kvKeys.message(thread.channel, ts), thread.conversation, ttl);
    return ts;
  }

  async function update(thread: Thread, ts: string, text: string): Promise<void> {
    await client.chat.update({ channel: thread.channel, ts, text });
  }

  async function react(thread: Thread, ts: string, name: string): Promise<void> {
    try {
      await client.reactions.add({ channel: thread.channel, timestamp: ts, name });
    } catch (err) {
      if (slackErrorCode(err) !== 'already_reacted') throw err;
    }
  }

  /**
   * Opens the thread's agent session, or learns that the app is not declared as an agent: then the
   * workspace is remembered as such for an hour and the status message alone shows progress.
   */
  async function openSession(thread: Thread, title: string, user: string): Promise<boolean> {
    if (!(await offersSessions(thread.team))) return false;
    try {
      await client.agents.sessions.setStatus({
        channel_id: thread.channel,
        thread_ts: thread.threadTs,
        status: 'processing',
        title: title.slice(0, 200),
        initiator_user_id: user,
      });
    } catch (err) {
      const code = slackErrorCode(err);
      if (!code) throw err;
      log.info({ code }, 'slack agent sessions unavailable; using the status message only');
      notAgentUntil.set(thread.team, Date.now() + NOT_AGENT_SECONDS * 1_000);
      await kv.set(kvKeys.agentApp(thread.team), '0', NOT_AGENT_SECONDS);
      return false;
    }
    await kv.set(kvKeys.agentThread(thread.conversation), '1', ttl);
    return true;
  }

  /** Moves the thread's agent session, if it has one. */
  async function setSession(thread: Thread, status: SessionStatus): Promise<void> {
    if ((await kv.get(kvKeys.agentThread(thread.conversation))) !== '1') return;
    await client.agents.sessions.setStatus({
      channel_id: thread.channel,
      thread_ts: thread.threadTs,
      status,
    });
  }

  return { post, update, react, openSession, setSession };
}
export type ThreadActions = ReturnType<typeof createThreadActions>;

/** The thread a task's reply address names. */
export function threadOf(place: SlackThreadAddress): Thread {
  return toThread({ team: place.team, channel: place.channel, threadTs: place.threadTs });
}

/** The reply address of a message in a thread (`messageTs`: the message that asked). */
export function toThreadAddress(thread: ThreadRef, messageTs: string): SlackThreadAddress {
  return {
    kind: 'slack-thread',
    team: thread.team,
    channel: thread.channel,
    threadTs: thread.threadTs,
    messageTs,
  };
}

/** The thread a conversation key names (`slack:<team>:<channel>:<thread_ts>`). */
export function threadFromKey(conversation: string): Thread | null {
  const [source, team, channel, threadTs] = conversation.split(':');
  if (source !== 'slack' || !team || !channel || !threadTs) return null;
  return { team, channel, threadTs, conversation };
}
