import { findMention } from './find-mention.js';
import { CommentWebhook } from './linear-events.js';
import type { LinearDelivery } from './linear-receiver.js';
import { type LinearHandlerDeps, skipper } from './linear-replies.js';
import { followUp, type LinearRequest, startOrAttach } from './start-linear-task.js';

/**
 * A new `Comment` on an issue that mentions the bot user (assignment mode): with an instruction, a
 * follow-up or the answer to the agent's question; with nothing but the mention, a start event.
 * The bot's own comments (its progress and replies) never start anything, nor do comments that no
 * member of the workspace wrote (an integration's, or one synced in from Slack or a support tool).
 */
export async function handleCommentEvent(deps: LinearHandlerDeps, delivery: LinearDelivery): Promise<void> {
  const parsed = CommentWebhook.safeParse(delivery.body);
  const skip = skipper(deps, delivery, 'comment');
  if (!parsed.success) return skip('not understood');
  const { action, data, organizationId } = parsed.data;
  if (action !== 'create') return skip('not a new comment');
  if (!data.issueId) return skip('not on an issue');
  const bot = await deps.bot();
  if (!bot) return skip('assignment mode is off');
  const author = data.userId ?? data.user?.id;
  if (author === bot.id) return skip('written by the bot');
  // Only people of the workspace start work: not a bot, not a Slack or Intercom user synced in.
  if (!author || data.botActor || data.externalUserId || data.externalUser)
    return skip('not written by a member of the workspace');
  const mention = findMention(data.body, bot);
  if (!mention) return skip('no mention of the bot');
  const req: LinearRequest = {
    target: { kind: 'linear-issue', issueId: data.issueId, organizationId },
    issueId: data.issueId,
    organizationId,
    deliveryId: `linear:${delivery.deliveryId ?? `comment:${data.id}`}`,
    requester: data.user?.name,
  };
  if (!mention.rest) return startOrAttach(deps, req);
  return followUp(deps, req, mention.rest);
}
