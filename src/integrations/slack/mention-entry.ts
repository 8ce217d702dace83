import { z } from 'zod';
import type { ConversationState } from '../../domain/conversation.js';
import { PatchbayError } from '../../domain/errors.js';
import type { InboxHandler } from '../../domain/inbox.js';
import type { TaskRecord } from '../../domain/task.js';
import type { ConversationView } from '../../server/integration.js';
import { escapeForSlack } from './parse-message.js';
import { type RepoRoute, routeRepository } from './route-repository.js';
import type { WebClient } from './slack-client.js';
import { messageLink, type Origins } from './slack-origin.js';
import { type Thread, toThread, toThreadAddress } from './slack-thread.js';
import { replyOnce, type SlackHandlerDeps } from './thread-commands.js';
import { fetchThreadContext } from './thread-context.js';

/** The inbox entry kind of an accepted Slack mention. */
export const MENTION_ENTRY = 'slack-mention';

/** What the answer to Slack keeps of a mention that asks for work (people's text: never logged). */
export const AcceptedMention = z.object({
  eventId: z.string(),
  team: z.string(),
  channel: z.string(),
  user: z.string(),
  ts: z.string(),
  threadTs: z.string(),
  /** The message as plain text, the model choice taken out. */
  text: z.string(),
  model: z.string().optional(),
});
export type AcceptedMention = z.infer<typeof AcceptedMention>;

export interface MentionDeps extends SlackHandlerDeps {
  /** Fails fast: the thread's history, for the agent's context. */
  quick: WebClient;
  origins: Origins;
}

/**
 * The inbox's consumer makes the task of an accepted mention: the thread's repository, its history
 * (for the agent's context) and the channel's label are read now, after Slack had its answer. A
 * refusal (the thread works on another repository, …) is said in the thread, once per event; the 👀
 * and the reply saying what was understood follow in the background.
 */
export function createMentionEntryHandler(deps: MentionDeps): InboxHandler {
  return async (entry) => {
    const parsed = AcceptedMention.safeParse(entry.payload);
    if (!parsed.success) throw new PatchbayError('invalid_request', 'not an accepted Slack mention');
    const mention = parsed.data;
    const thread = toThread({ team: mention.team, channel: mention.channel, threadTs: mention.threadTs });
    // Read before the task is made: afterwards the thread's newest task is this one.
    const { view: before, stored } = await deps.tasks.conversations.read(thread.conversation);
    const route = routeRepository({
      text: mention.text,
      channel: mention.channel,
      threadRepo: before?.repo,
      rules: deps.rules,
    });
    if (route.kind === 'ask') {
      return replyOnce(deps, mention.eventId, 'ask', () => deps.actions.post(thread, askText(deps, route)));
    }
    const submitted = await submitMention(deps, { mention, thread, route, taskId: entry.taskId, stored });
    if (!submitted || submitted.kind === 'duplicate') return;
    const accepted = { task: submitted.task, kind: submitted.kind, route, before };
    deps.background('acknowledge', () => acknowledge(deps, thread, mention, accepted));
    deps.background('channel name', () => deps.origins.learn(mention.channel));
  };
}

async function submitMention(
  deps: MentionDeps,
  {
    mention,
    thread,
    route,
    taskId,
    stored,
  }: {
    mention: AcceptedMention;
    thread: Thread;
    route: RepoRoute & { kind: 'repo' };
    taskId: string;
    stored: ConversationState | null;
  },
) {
  const bot = await deps.bot();
  const inThread = mention.threadTs !== mention.ts;
  const [context, label] = await Promise.all([
    inThread
      ? fetchThreadContext(
          { client: deps.quick, log: deps.log },
          {
            channel: mention.channel,
            threadTs: mention.threadTs,
            beforeTs: mention.ts,
            botUserId: bot.userId,
          },
        )
      : undefined,
    deps.origins.label(mention.channel),
  ]);
  try {
    return await deps.tasks.submit(
      {
        repo: route.repo,
        instruction: mention.text.slice(0, 20_000),
        model: mention.model,
        conversation: thread.conversation,
        base: route.base,
        context,
        origin: {
          source: 'slack',
          label,
          url: messageLink(bot.workspaceUrl, {
            channel: mention.channel,
            ts: mention.ts,
            threadTs: mention.threadTs,
          }),
          requester: mention.user,
        },
        replyTo: toThreadAddress(thread, mention.ts),
        deliveryId: `slack:${mention.eventId}`,
      },
      // Read just before, unless Slack was asked for the thread's history in between.
      { id: taskId, conversation: inThread ? undefined : { id: thread.conversation, stored } },
    );
  } catch (err) {
    if (!(err instanceof PatchbayError) || !err.permanent) throw err;
    const text = `I can't start that: ${escapeForSlack(err.message)}${err.hint ? `\n${escapeForSlack(err.hint)}` : ''}`;
    await replyOnce(deps, mention.eventId, 'rejected', () => deps.actions.post(thread, text));
    return null;
  }
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
  mention: { ts: string; user: string },
  accepted: Accepted,
): Promise<void> {
  await Promise.all([
    deps.actions.react(thread, mention.ts, 'eyes'),
    deps.actions.openSession(thread, accepted.task.request.instruction, mention.user).catch((err: Error) => {
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

/** Which repository to use, asked in the thread; `not_allowed` when the one named is not on the allowlist. */
export function askText(deps: Pick<MentionDeps, 'rules'>, route: RepoRoute & { kind: 'ask' }): string {
  const allowed = deps.rules.repositories.describe();
  const example = 'mention me again with `repo=owner/name` and what to do';
  if (route.reason === 'not_allowed') {
    return `I'm not allowed to work on \`${escapeForSlack(route.named ?? '')}\`. I may use ${allowed}: ${example}.`;
  }
  return `Which repository should I work on? I may use ${allowed}: ${example}.`;
}
