import { takeModelChoice } from '../../domain/request-options.js';
import { newTaskId } from '../../lib/ids.js';
import { type AcceptedMention, askText, MENTION_ENTRY, type MentionDeps } from './mention-entry.js';
import { parseCommand, stripBotMention, toPlainText } from './parse-message.js';
import { routeRepository } from './route-repository.js';
import { type EventEnvelope, isFromAnotherTeam, isPersonMessage, type MentionEvent } from './slack-events.js';
import { toThread } from './slack-thread.js';
import { helpText, refusalFor, replyOnce, statusReply, stopOnce } from './thread-commands.js';

/**
 * `@patchbay …` in a channel or a thread: a command (stop, status, help), or a task. A task is only
 * accepted here (one Redis round trip: createMentionEntryHandler makes it, after the answer); the
 * thread's history, the 👀 and the reply follow there. Throws only when the mention could not be
 * accepted, so that Slack retries.
 */
export async function handleMention(deps: MentionDeps, body: EventEnvelope, event: MentionEvent) {
  const thread = toThread({
    team: body.team_id,
    channel: event.channel,
    threadTs: event.thread_ts ?? event.ts,
  });
  const bot = await deps.bot();
  const said = stripBotMention(event.text, bot.userId);
  // Another app's bot never starts work (no loops), nor Patchbay's own user (as Bolt's ignoreSelf);
  // edits and other non-messages neither.
  if (event.bot_id || event.user === bot.userId || !isPersonMessage(event.subtype)) return;
  const refusal = isFromAnotherTeam(body, event)
    ? "Sorry, I only take requests from people in this workspace's own organisation."
    : refusalFor(deps, event.user, event.channel);
  if (refusal) return replyOnce(deps, body.event_id, 'refusal', () => deps.actions.post(thread, refusal));

  const chosen = takeModelChoice(toPlainText(said));
  const plain = chosen.text;
  const command = parseCommand(plain);
  if (command === 'stop') {
    const reply = await stopOnce(deps, body.event_id, thread, event.user);
    if (reply) return replyOnce(deps, body.event_id, 'stop', () => deps.actions.post(thread, reply));
    return;
  }
  if (command) {
    const reply = command === 'status' ? await statusReply(deps, thread) : helpText(deps, bot.userId);
    return replyOnce(deps, body.event_id, command, () => deps.actions.post(thread, reply));
  }

  const inThread = event.thread_ts !== undefined && event.thread_ts !== event.ts;
  // Decided on local configuration alone, as before the answer: a repository named but not allowed,
  // or (outside a thread, where no earlier task can name one) none known. In a thread the thread's
  // own repository counts: the inbox's consumer reads it.
  const route = routeRepository({ text: plain, channel: event.channel, rules: deps.rules });
  if (route.kind === 'ask' && (!inThread || route.reason === 'not_allowed')) {
    return replyOnce(deps, body.event_id, 'ask', () => deps.actions.post(thread, askText(deps, route)));
  }
  const mention: AcceptedMention = {
    eventId: body.event_id,
    team: thread.team,
    channel: event.channel,
    user: event.user,
    ts: event.ts,
    threadTs: thread.threadTs,
    text: plain,
    model: chosen.model,
  };
  // The one round trip before Slack's answer: the mention is durable and deduplicated.
  await deps.tasks.accept({
    kind: MENTION_ENTRY,
    taskId: newTaskId(),
    deliveryId: `slack:${body.event_id}`,
    payload: mention,
  });
}
