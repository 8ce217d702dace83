import type { KeyValueStore } from '../../domain/ports.js';
import type { TaskRecord } from '../../domain/task.js';
import type { RunInBackground } from '../../lib/background-work.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { TaskServices } from '../../server/integration.js';
import type { ActivityContent, LinearApi, LinearUser } from './linear-api.js';
import type { LinearDelivery } from './linear-receiver.js';
import type { LinearApis } from './linear-reporter.js';
import type { LinearRules } from './linear-settings.js';
import { type LinearTarget, targetKeys, toPostId } from './linear-targets.js';

const DAY_SECONDS = 86_400;

export interface LinearHandlerDeps {
  tasks: TaskServices;
  /** Linear's own key-value store. */
  kv: KeyValueStore;
  rules: LinearRules;
  apis: LinearApis;
  /** The bot user of assignment mode (its API key's viewer), read once; null when the mode is off. */
  bot: () => Promise<LinearUser | null>;
  /** Linear calls that must not hold up the webhook's answer (tracked, so that stop() can wait). */
  background: RunInBackground;
  log: Logger;
  /** The first thought's timer runs on it (default the system's). */
  clock?: Clock;
}

/** Logs why a delivery starts nothing: one fixed message per kind, the reason as metadata. */
export function skipper(deps: LinearHandlerDeps, delivery: LinearDelivery, kind: 'issue' | 'comment') {
  const { type, action } = delivery.envelope;
  return (why: string) =>
    deps.log.info({ type, action, delivery: delivery.deliveryId, why }, `linear ${kind} event skipped`);
}

/** The API that speaks at a place: the agent's for a session, the bot user's on the issue. */
export function apiAt(deps: LinearHandlerDeps, target: LinearTarget): LinearApi {
  const api =
    target.kind === 'linear-session' ? deps.apis.agent(target.organizationId) : deps.apis.assignment;
  if (!api) throw new Error('assignment mode is off');
  return api;
}

/** Says something at a place, in the background: an activity in a session, a comment on the issue. */
export function say(deps: LinearHandlerDeps, target: LinearTarget, content: ActivityContent): void {
  const api = apiAt(deps, target);
  deps.background(content.type, async () => {
    if (target.kind === 'linear-session') return api.postActivity(target.sessionId, content);
    const body = 'body' in content ? content.body : content.parameter;
    return api.createComment({
      issueId: target.issueId,
      body: content.type === 'error' ? `❌ ${body}` : body,
    });
  });
}

/** Says it once per delivery: a redelivery says nothing twice. */
export async function sayOnce(
  deps: LinearHandlerDeps,
  target: LinearTarget,
  deliveryId: string,
  content: ActivityContent,
): Promise<void> {
  if (!(await deps.kv.setIfAbsent(`reply:${deliveryId}`, '1', DAY_SECONDS))) return;
  say(deps, target, content);
}

/**
 * The first sign of life at a place once a task is queued or attached: a `thought` in a session (Linear
 * wants one within 10 s), or the run's progress comment on the issue (whose id the reporter then edits).
 */
export function acknowledge(
  deps: LinearHandlerDeps,
  target: LinearTarget,
  task: TaskRecord,
  text: string,
): void {
  const api = apiAt(deps, target);
  deps.background('acknowledge', async () => {
    if (target.kind === 'linear-session') {
      const thought = { type: 'thought', body: text } as const;
      return api.postActivity(target.sessionId, thought, toPostId(task, target, 'acknowledged'));
    }
    const key = targetKeys.progress(task.id, task.runs);
    if (await deps.kv.get(key)) return;
    const progress = toPostId(task, target, 'progress');
    const id = await api.createComment({ issueId: target.issueId, body: `⏳ ${text}`, id: progress });
    if (!(await deps.kv.setIfAbsent(key, id, 30 * DAY_SECONDS))) {
      deps.log.info({ taskId: task.id }, 'linear progress comment posted twice');
    }
  });
}
