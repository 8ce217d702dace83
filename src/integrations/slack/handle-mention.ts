import { PatchbayError } from '../../domain/errors.js';
import { takeModelChoice } from '../../domain/request-options.js';
import type { TaskRecord } from '../../domain/task.js';
import type { ConversationView } from '../../server/integration.js';
import { escapeForSlack, parseCommand, stripBotMention, toPlainText } from './parse-message.js';
import { type RepoRoute, routeRepository } from './route-repository.js';
import type { WebClient } from './slack-client.js';
import { type EventEnvelope, isFromAnotherTeam, isPersonMessage, type MentionEvent } from './slack-events.js';
import { messageLink, type Origins } from './slack-origin.js';
import { type Thread, toThread, toThreadAddress } from './slack-thread.js';
import {
  helpText,
  refusalFor,
  replyOnce,
  type SlackHandlerDeps,
  statusReply,
  stopOnce,
} from './thread-commands.js';
import { fetchThreadContext } from './thread-context.js';

export interface MentionDeps extends SlackHandlerDeps {
  /** Fails fast: used while Slack waits for our answer (the thread's history only). */
  quick: WebClient;
  origins: Origins;
}

/**
 * `@patchbay …` in a channel or a thread: a command (stop, status, help), or a task. The only Web API
 * call before the task is queued is the thread's history (1.5 s at most, for the agent's context);
 * the 👀, the reply and the channel's name follow in the background. Throws only when the task could
 * not be queued, so that Slack retries.
 */
export async function handleMention(deps: MentionDeps, body: EventEnvelope, event: MentionEvent) {
  const thread = toThread({
    team: body.team_id,
    channel: event.channel,
    threadTs: event.thread_ts ?? event.ts,
  });
  const bot = await deps.bot();
  const said = stripBotMention(event.text, bot.userId);
  // Another app's bot never starts work (no loops); edits and other non-messages neither.
  if (event.bot_id || !isPersonMessage(event.subtype)) return;
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

  // Read before the task is queued: afterwards the thread's newest task is this one.
  const before = await deps.tasks.conversations.view(thread.conversation);
  const route = routeRepository({
    text: plain,
    channel: event.channel,
    threadRepo: before?.repo,
    rules: deps.rules,
  });
  if (route.kind === 'ask') {
    return replyOnce(deps, body.event_id, 'ask', () => deps.actions.post(thread, askText(deps, route)));
  }
  const inThread = event.thread_ts !== undefined && event.thread_ts !== event.ts;
  const [context, label] = await Promise.all([
    inThread
      ? fetchThreadContext(
          { client: deps.quick, log: deps.log },
          { channel: event.channel, threadTs: thread.threadTs, beforeTs: event.ts, botUserId: bot.userId },
        )
      : undefined,
    deps.origins.label(event.channel),
  ]);
  let submitted: Awaited<ReturnType<typeof deps.tasks.submit>>;
  try {
    submitted = await deps.tasks.submit({
      repo: route.repo,
      instruction: plain.slice(0, 20_000),
      model: chosen.model,
      conversation: thread.conversation,
      base: route.base,
      context,
      origin: {
        source: 'slack',
        label,
        url: messageLink(bot.workspaceUrl, {
          channel: event.channel,
          ts: event.ts,
          threadTs: thread.threadTs,
        }),
        requester: event.user,
      },
      replyTo: toThreadAddress(thread, event.ts),
      deliveryId: `slack:${body.event_id}`,
    });
  } catch (err) {
    if (!(err instanceof PatchbayError) || !err.permanent) throw err;
    const text = `I can't start that: ${escapeForSlack(err.message)}${err.hint ? `\n${escapeForSlack(err.hint)}` : ''}`;
    return replyOnce(deps, body.event_id, 'rejected', () => deps.actions.post(thread, text));
  }
  if (submitted.kind === 'duplicate') return;
  const { task, kind } = submitted;
  deps.background('acknowledge', () => acknowledge(deps, thread, event, { task, kind, route, before }));
  deps.background('channel name', () => deps.origins.learn(event.channel));
}

interface Accepted {
  task: TaskRecord;
  kind: 'new' | 'answer';
  route: RepoRoute & { kind: 'repo' };
  /** The thread's conversation as it was before this task. */
  before: ConversationView | null;
}

/** 👀 on the message, the agent session opened, and a reply saying what was understood. */
async function acknowledge(
  deps: MentionDeps,
  thread: Thread,
  event: { ts: string; user: string },
  accepted: Accepted,
): Promise<void> {
  await Promise.all([
    deps.actions.react(thread, event.ts, 'eyes'),
    deps.actions.openSession(thread, accepted.task.request.instruction, event.user).catch((err: Error) => {
      deps.log.warn({ err: err.message }, 'could not open the slack agent session');
    }),
  ]);
  await deps.actions.post(thread, acceptedText(deps, accepted));
}

function acceptedText(deps: MentionDeps, { task, kind, route, before }: Accepted): string {
  if (kind === 'answer') return `👍 Thanks, task \`${task.id}\` goes on with your answer.`;
  const branch = route.base ?? before?.base ?? deps.rules.repositories.find(route.repo)?.base;
  const base = branch ? `\`${escapeForSlack(branch)}\`` : "the repository's default branch";
  const followUp = before?.branch
    ? ` Follow-up on \`${before.branch}\`${before.pullRequest ? ` (<${before.pullRequest.url}|PR #${before.pullRequest.number}>)` : ''}.`
    : '';
  return (
    `👀 On it: \`${route.repo}\`, base ${base}, task \`${task.id}\`.${followUp}\n` +
    'I keep one status message below up to date. Mention me with `stop` (or react ❌ to my message) to cancel.'
  );
}

function askText(deps: MentionDeps, route: RepoRoute & { kind: 'ask' }): string {
  const allowed = deps.rules.repositories.describe();
  const example = 'mention me again with `repo=owner/name` and what to do';
  if (route.reason === 'not_allowed') {
    return `I'm not allowed to work on \`${escapeForSlack(route.named ?? '')}\`. I may use ${allowed}: ${example}.`;
  }
  return `Which repository should I work on? I may use ${allowed}: ${example}.`;
}
