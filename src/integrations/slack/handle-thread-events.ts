import { PatchbayError } from '../../domain/errors.js';
import { mentionsBot, toPlainText } from './parse-message.js';
import {
  type EventEnvelope,
  isFromAnotherTeam,
  isPersonMessage,
  type MessageEvent,
  type ReactionEvent,
} from './slack-events.js';
import { kvKeys } from './slack-keys.js';
import { threadFromKey, toThread, toThreadAddress } from './slack-thread.js';
import { refusalFor, replyOnce, type SlackHandlerDeps, stopOnce } from './thread-commands.js';

/** ❌ and 🛑: a person's stop sign on one of the bot's messages. */
const STOP_REACTIONS = new Set(['x', 'octagonal_sign', 'stop_sign', 'no_entry']);

/**
 * A reply in a thread that does not mention the bot: the answer to the agent's question when one is
 * waiting, else nothing (people talk in threads; only a mention starts work). A reply also sent to the
 * channel or carrying a file is still a person's answer.
 */
export async function handleThreadReply(deps: SlackHandlerDeps, body: EventEnvelope, event: MessageEvent) {
  if (!isPersonMessage(event.subtype) || event.bot_id || !event.user || isFromAnotherTeam(body, event))
    return;
  if (!event.thread_ts || event.thread_ts === event.ts) return;
  const bot = await deps.bot();
  if (event.user === bot.userId || mentionsBot(event.text, bot.userId)) return; // app_mention handles those
  const thread = toThread({ team: body.team_id, channel: event.channel, threadTs: event.thread_ts });
  const waiting = await deps.tasks.conversations.latestTask(thread.conversation);
  if (waiting?.status !== 'waiting_for_input') return;
  const refusal = refusalFor(deps, event.user, event.channel);
  if (refusal) return replyOnce(deps, body.event_id, 'refusal', () => deps.actions.post(thread, refusal));
  const text = toPlainText(event.text).trim();
  if (!text) return;
  try {
    const { task, kind } = await deps.tasks.submit({
      repo: waiting.request.repo,
      instruction: text.slice(0, 20_000),
      conversation: thread.conversation,
      origin: waiting.request.origin,
      replyTo: toThreadAddress(thread, event.ts),
      deliveryId: `slack:${body.event_id}`,
    });
    if (kind === 'duplicate') return;
    deps.background('answer', async () => {
      await deps.actions.react(thread, event.ts, 'eyes');
      await deps.actions.post(thread, `👍 Thanks, task \`${task.id}\` goes on with your answer.`);
    });
  } catch (err) {
    if (!(err instanceof PatchbayError) || !err.permanent) throw err;
    deps.log.warn({ code: err.code }, 'slack answer refused');
  }
}

/** A person reacting ❌ or 🛑 to one of the bot's messages stops the thread's task. */
export async function handleReaction(deps: SlackHandlerDeps, body: EventEnvelope, event: ReactionEvent) {
  if (!STOP_REACTIONS.has(event.reaction.split('::')[0] ?? '')) return;
  if (event.item.type !== 'message' || !event.item.channel || !event.item.ts) return;
  const bot = await deps.bot();
  // The bot's own reactions (✅, ❌ on the request) mean nothing; only reactions on its messages count.
  if (event.user === bot.userId || event.item_user !== bot.userId) return;
  if (isFromAnotherTeam(body, event) || refusalFor(deps, event.user, event.item.channel)) return;
  const conversation = await deps.kv.get(kvKeys.message(event.item.channel, event.item.ts));
  const thread = conversation ? threadFromKey(conversation) : null;
  if (!thread) return;
  const reply = await stopOnce(deps, body.event_id, thread, event.user);
  if (reply?.startsWith('🛑'))
    await replyOnce(deps, body.event_id, 'stop', () => deps.actions.post(thread, reply));
}

/** Slack's own stop button on an agent session. */
export async function handleSessionStopped(
  deps: SlackHandlerDeps,
  body: EventEnvelope,
  event: { user: string; channel: string; thread_ts: string; user_team?: string; source_team?: string },
) {
  const thread = toThread({ team: body.team_id, channel: event.channel, threadTs: event.thread_ts });
  if (isFromAnotherTeam(body, event)) return;
  const refusal = refusalFor(deps, event.user, event.channel);
  if (refusal) return replyOnce(deps, body.event_id, 'refusal', () => deps.actions.post(thread, refusal));
  const reply = await stopOnce(deps, body.event_id, thread, event.user);
  // The session does not leave `processing` by itself when its stop button is clicked.
  deps.background('agent session', () => deps.actions.setSession(thread, 'closed'));
  if (reply?.startsWith('🛑'))
    await replyOnce(deps, body.event_id, 'stop', () => deps.actions.post(thread, reply));
}
