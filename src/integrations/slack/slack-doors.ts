import type { PlaceNotices } from '../../domain/events.js';
import type { SlackThreadAddress } from '../../domain/reply-address.js';
import type { Logger } from '../../lib/logger.js';
import { escapeForSlack } from './parse-message.js';
import type { WebClient } from './slack-client.js';
import { type ThreadActions, threadOf } from './slack-thread.js';
import type { BotIdentity } from './thread-commands.js';

/**
 * What the rest of Patchbay may do in Slack without knowing Slack: start a thread in a channel for a
 * task that no person asked for in one (a schedule's run), and tell a thread something outside a
 * task's run. The text is Patchbay's own; it is escaped, so it links and mentions nothing.
 */
export function createSlackDoors(deps: {
  client: WebClient;
  actions: ThreadActions;
  bot: () => Promise<BotIdentity>;
  log: Logger;
}) {
  async function openThread(channel: string, text: string): Promise<SlackThreadAddress> {
    const { teamId } = await deps.bot();
    if (!teamId) throw new Error('auth.test returned no team_id');
    const res = await deps.client.chat.postMessage({
      channel,
      text: escapeForSlack(text),
      unfurl_links: false,
    });
    if (typeof res.ts !== 'string') throw new Error('chat.postMessage returned no ts');
    deps.log.info({ channel, ts: res.ts }, 'opened a slack thread');
    return { kind: 'slack-thread', team: teamId, channel, threadTs: res.ts, messageTs: res.ts };
  }

  const notices: PlaceNotices = {
    kinds: ['slack-thread'],
    async tell(places, text) {
      for (const place of places) {
        if (place.kind !== 'slack-thread') continue;
        await deps.actions.post(threadOf(place), escapeForSlack(text)).catch((err: Error) => {
          deps.log.warn({ channel: place.channel, err: err.message }, 'could not tell the slack thread');
        });
      }
    },
  };

  return { openThread, notices };
}
