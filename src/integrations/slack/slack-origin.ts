import type { KeyValueStore } from '../../domain/ports.js';
import type { Logger } from '../../lib/logger.js';
import type { WebClient } from './slack-client.js';
import { DAY_SECONDS, kvKeys } from './slack-keys.js';

/** A channel's name changes rarely; a stale one in a PR body is harmless. */
const NAME_TTL_SECONDS = 7 * DAY_SECONDS;

/**
 * Where a task came from, for its PR body ("Requested from Slack #eng"), without a Web API call while
 * Slack waits: the channel's name is whatever was learnt earlier (this process, or any other through
 * the key-value store), else its id; `learn` asks conversations.info after the task is queued, so
 * that the next request from the channel is named.
 */
export function createOrigins(deps: { client: WebClient; kv: KeyValueStore; log: Logger }) {
  const names = new Map<string, string>();

  async function label(channel: string): Promise<string> {
    const name = names.get(channel) ?? (await deps.kv.get(kvKeys.channelName(channel)));
    return (name ? `Slack #${name}` : `Slack channel ${channel}`).slice(0, 200);
  }

  async function learn(channel: string): Promise<void> {
    if (names.has(channel)) return;
    const res = await deps.client.conversations.info({ channel });
    const name = res.channel?.name;
    if (typeof name !== 'string' || !/^[\w.-]{1,80}$/.test(name)) return;
    if (names.size > 1_000) names.clear();
    names.set(channel, name);
    await deps.kv.set(kvKeys.channelName(channel), name, NAME_TTL_SECONDS);
  }

  return { label, learn };
}
export type Origins = ReturnType<typeof createOrigins>;

/**
 * A link to a message, built from the workspace's URL (auth.test's `url`) the way chat.getPermalink
 * builds it (`<workspace>/archives/<channel>/p<ts without the dot>`, plus the thread for a reply), so
 * that no call is made for it while Slack waits. Undefined when the workspace URL is unknown.
 */
export function messageLink(
  workspaceUrl: string | undefined,
  at: { channel: string; ts: string; threadTs?: string },
): string | undefined {
  if (!workspaceUrl || !/^https:\/\/[^/?#\s]+\/$/.test(workspaceUrl)) return undefined;
  if (!/^[A-Z0-9]+$/.test(at.channel) || !/^\d+\.\d+$/.test(at.ts)) return undefined;
  const link = `${workspaceUrl}archives/${at.channel}/p${at.ts.replace('.', '')}`;
  const reply = at.threadTs && at.threadTs !== at.ts;
  return reply ? `${link}?thread_ts=${at.threadTs}&cid=${at.channel}` : link;
}
