import type { ScheduleConfig } from '../config/automation-schema.js';
import { PatchbayError } from '../domain/errors.js';
import type { ConversationStore } from '../domain/ports.js';
import { ReplyAddress } from '../domain/reply-address.js';
import {
  type ScheduleState,
  type ScheduleStore,
  scheduleConversation,
  scheduleTickKey,
} from '../domain/schedule.js';
import type { TaskRecord } from '../domain/task.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Submitted } from './submit-task.js';

export type PullRequestState = 'open' | 'closed' | 'merged';

export interface ScheduleTickDeps {
  schedules: readonly ScheduleConfig[];
  submit(input: unknown): Promise<Submitted>;
  conversations: Pick<ConversationStore, 'get'>;
  /** The conversation's newest task while it is not over (the conversation door's). */
  activeTask(conversation: string): Promise<TaskRecord | null>;
  state: ScheduleStore;
  /** GitHub's word on a pull request: one that is no longer open ends the schedule's generation. */
  pullRequestState(repo: string, number: number): Promise<PullRequestState>;
  /**
   * Posts a message that starts a thread in a Slack channel and returns the thread as a place (the
   * Slack integration's door); absent while Slack is off.
   */
  openThread?: (channel: string, text: string) => Promise<ReplyAddress>;
  log: Logger;
}

export type TickOutcome =
  | { kind: 'queued'; task: TaskRecord; duplicate: boolean }
  | { kind: 'skipped'; reason: string };

/**
 * One tick of a schedule: a task in the schedule's conversation, keyed `schedule:<name>:<tick>`, so
 * that a tick handled twice (a retried job, a second process) is one task. The conversation keeps
 * updating its open pull request; once that is merged or closed, the run starts the next generation
 * (a new conversation, branch and pull request). With `slack_channel`, the run posts a new thread
 * there and reports in it. A paused schedule runs only when a person asks (`manual`). `clock` is the
 * caller's, so that tests drive ticks without waiting.
 */
export async function runScheduleTick(
  deps: ScheduleTickDeps,
  tick: { name: string; at: number; manual: boolean },
  clock: Clock,
): Promise<TickOutcome> {
  const log = deps.log.child({ schedule: tick.name, tick: new Date(tick.at).toISOString() });
  const schedule = deps.schedules.find((s) => s.name === tick.name);
  if (!schedule) return skip(log, 'not in patchbay.yml any more');
  const state = await deps.state.get(schedule.name);
  if (state.paused && !tick.manual) return skip(log, `paused (${state.pausedBy ?? 'person'})`);
  const conversation = await conversationFor(deps, schedule, state);
  // A message to a conversation whose task asked a question is its answer: a tick must not be one.
  const active = await deps.activeTask(conversation.id);
  if (active?.status === 'waiting_for_input') return skip(log, `task ${active.id} waits for an answer`);
  const replyTo = await threadFor(deps, schedule, tick, log);
  const { task, kind } = await deps.submit({
    repo: schedule.repository,
    instruction: schedule.instruction,
    conversation: conversation.id,
    branchKey: `${schedule.name}-${conversation.generation}`.slice(0, 40),
    origin: {
      source: 'schedule',
      label: `Schedule ${schedule.name}`,
      requester: tick.manual ? 'patchbay schedules run' : undefined,
    },
    replyTo,
    deliveryId: scheduleTickKey(schedule.name, tick.at),
    model: schedule.model,
    budget: schedule.budget,
  });
  await deps.state.recordRun(schedule.name, {
    tick: tick.at,
    taskId: task.id,
    conversation: conversation.id,
  });
  log.info({ taskId: task.id, kind, conversation: conversation.id, at: clock.now() }, 'schedule tick queued');
  return { kind: 'queued', task, duplicate: kind === 'duplicate' };
}

function skip(log: Logger, reason: string): TickOutcome {
  log.info({ reason }, 'schedule tick skipped');
  return { kind: 'skipped', reason };
}

/**
 * The conversation of the schedule's current generation; the next one when the current one's pull
 * request is merged or closed. Two processes that find it so at once move on one generation.
 */
async function conversationFor(deps: ScheduleTickDeps, schedule: ScheduleConfig, state: ScheduleState) {
  const id = scheduleConversation(schedule.name, state.generation);
  const pr = (await deps.conversations.get(id))?.pullRequest;
  if (!pr) return { id, generation: state.generation };
  const prState = await deps.pullRequestState(schedule.repository, pr.number);
  if (prState === 'open') return { id, generation: state.generation };
  const generation = await deps.state.nextGeneration(schedule.name, state.generation);
  deps.log.info(
    { schedule: schedule.name, pr: pr.number, prState, generation },
    'schedule pull request is over; next run opens a new one',
  );
  return { id: scheduleConversation(schedule.name, generation), generation };
}

/** The run's own Slack thread: posted once per tick (a retried tick finds the one it posted). */
async function threadFor(
  deps: ScheduleTickDeps,
  schedule: ScheduleConfig,
  tick: { at: number; manual: boolean },
  log: Logger,
): Promise<ReplyAddress | undefined> {
  if (!schedule.slack_channel) return undefined;
  if (!deps.openThread) {
    log.warn({ channel: schedule.slack_channel }, 'schedule has a slack_channel but Slack is off');
    return undefined;
  }
  const kept = await deps.state.threadOfTick(schedule.name, tick.at);
  if (kept) {
    const parsed = ReplyAddress.safeParse(JSON.parse(kept));
    if (parsed.success) return parsed.data;
  }
  const firstLine = schedule.instruction.split('\n').find((l) => l.trim()) ?? '';
  const how = tick.manual ? 'Run of schedule' : 'Scheduled run of';
  const text = `⏰ ${how} \`${schedule.name}\` on \`${schedule.repository}\`: ${firstLine.slice(0, 300)}`;
  const place = await deps.openThread(schedule.slack_channel, text).catch((err: Error) => {
    throw new PatchbayError('internal', `could not post the schedule's Slack thread: ${err.message}`, {
      cause: err,
      permanent: false,
    });
  });
  await deps.state.keepThreadOfTick(schedule.name, tick.at, JSON.stringify(place));
  return place;
}
