import type { KeyValueStore } from '../../domain/ports.js';
import type { RunInBackground } from '../../lib/background-work.js';
import type { Logger } from '../../lib/logger.js';
import type { TaskServices } from '../../server/integration.js';
import { DAY_SECONDS, kvKeys } from './slack-keys.js';
import type { SlackRules } from './slack-settings.js';
import { statusLine } from './slack-text.js';
import type { Thread, ThreadActions } from './slack-thread.js';

export interface BotIdentity {
  userId: string;
  botId?: string;
  /** The workspace's URL (`https://acme.slack.com/`), for links to messages. */
  workspaceUrl?: string;
  /** The workspace's id (`T0123`), for the threads the bot starts itself. */
  teamId?: string;
}

/** What every Slack handler works with. */
export interface SlackHandlerDeps {
  tasks: TaskServices;
  /** Slack's own key-value store. */
  kv: KeyValueStore;
  rules: SlackRules;
  actions: ThreadActions;
  bot: () => Promise<BotIdentity>;
  /** Slack work that must not hold up the answer to Slack (tracked, so that stop() can wait for it). */
  background: RunInBackground;
  log: Logger;
}

/** Who may start and stop work: `slack.users` and `slack.allowed_channels`, when set. */
export function refusalFor(deps: SlackHandlerDeps, user: string, channel: string): string | null {
  const slack = deps.rules.slack;
  if (slack.users && !slack.users.includes(user)) {
    return `Sorry <@${user}>, I only take requests from the people Patchbay's admins have listed. Ask them to add you if you need me.`;
  }
  if (slack.allowed_channels && !slack.allowed_channels.includes(channel)) {
    return "Sorry, I don't take requests in this channel. Ask Patchbay's admins which channels I work in.";
  }
  return null;
}

/** How long the answer to Slack waits for a reply to go out, so that a failed one is retried by Slack. */
const REPLY_WAIT_MS = 1_500;

/**
 * Replies to an event that starts no task, once: Slack redelivers events it thinks we missed, and the
 * same refusal or answer twice would be noise. The event is claimed first (a concurrent redelivery
 * says nothing), and the claim is released when the reply fails: a reply that fails while Slack waits
 * fails the delivery (5xx), so that Slack delivers it again and the person hears; one slower than
 * that goes on in the background, and a later redelivery may still answer if it fails.
 */
export async function replyOnce(
  deps: SlackHandlerDeps,
  eventId: string,
  what: string,
  work: () => Promise<unknown>,
): Promise<void> {
  const key = kvKeys.event(eventId);
  if (!(await deps.kv.setIfAbsent(key, '1', DAY_SECONDS))) return;
  const sent = work().then(
    () => 'sent' as const,
    async (err: unknown) => {
      await deps.kv.delete(key).catch(() => undefined);
      throw err;
    },
  );
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<'slow'>((r) => {
    timer = setTimeout(() => r('slow'), REPLY_WAIT_MS);
  });
  const outcome = await Promise.race([sent, slow]).finally(() => clearTimeout(timer));
  if (outcome === 'slow') deps.background(what, () => sent);
}

/**
 * Stops the thread's newest task once per event: a retried or replayed delivery of the same event
 * must not stop the thread's next task. A redelivery gets the first delivery's reply back, so that a
 * reply that failed to go out can be posted then.
 */
export async function stopOnce(
  deps: SlackHandlerDeps,
  eventId: string,
  thread: Thread,
  by: string,
): Promise<string | null> {
  const key = kvKeys.event(`${eventId}:action`);
  if (!(await deps.kv.setIfAbsent(key, '', DAY_SECONDS))) {
    return (await deps.kv.get(key)) || null;
  }
  const reply = await stopThread(deps, thread, by);
  await deps.kv.set(key, reply ?? '', DAY_SECONDS);
  return reply;
}

export function helpText(deps: SlackHandlerDeps, botUserId: string): string {
  return [
    `Mention me with what to change and where, e.g. \`<@${botUserId}> fix the flaky login test in acme/web\` (or \`repo=owner/name\`, \`branch=…\`).`,
    'In a thread I work in: mention me again for a follow-up on the same pull request, reply to answer my questions, ' +
      `\`<@${botUserId}> status\`, \`<@${botUserId}> stop\` (or react ❌ to one of my messages).`,
    `Repositories I may work on: ${deps.rules.repositories.describe()}.`,
  ].join('\n');
}

/** `status`: the newest task of the thread in one line. */
export async function statusReply(deps: SlackHandlerDeps, thread: Thread): Promise<string> {
  const task = await deps.tasks.conversations.latestTask(thread.conversation);
  if (!task) return 'Nothing has been asked in this thread yet.';
  return statusLine(task, deps.rules.budget);
}

/**
 * Stops the newest task of a thread. A running task is stopped by its worker, whose reporter then
 * says so; a queued or waiting one is cancelled here and now, so it is said here. Returns the reply
 * to post, if any.
 */
export async function stopThread(deps: SlackHandlerDeps, thread: Thread, by: string): Promise<string | null> {
  const stop = await deps.tasks.conversations.stopLatest(thread.conversation);
  if (stop.kind === 'nothing') return 'Nothing is running in this thread.';
  const { task } = stop;
  deps.log.info({ taskId: task.id, by }, 'slack stop requested');
  if (stop.kind === 'stopped') {
    deps.background('agent session', () => deps.actions.setSession(thread, 'closed'));
    return `🛑 Stopped task \`${task.id}\` (asked by <@${by}>).`;
  }
  return `🛑 Stopping task \`${task.id}\` (asked by <@${by}>)…`;
}
