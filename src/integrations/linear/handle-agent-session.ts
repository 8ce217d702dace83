import { systemClock } from '../../lib/clock.js';
import { toStableUuid } from '../../lib/ids.js';
import { afterLeadingMentions } from './find-mention.js';
import { AgentSessionEvent, issueIdOf, toConversationKey } from './linear-events.js';
import type { LinearDelivery } from './linear-receiver.js';
import { apiAt, type LinearHandlerDeps, say } from './linear-replies.js';
import type { LinearTarget } from './linear-targets.js';
import { followUp, type LinearRequest, startOrAttach } from './start-linear-task.js';

const DAY_SECONDS = 86_400;
/** After this long without the task accepted, a first thought goes out anyway. */
const FIRST_THOUGHT_MS = 1_500;

/**
 * An `AgentSessionEvent`: `created` starts a task on the issue (or attaches the session to the issue's
 * task under way), `prompted` is a follow-up, the answer to the agent's question, or (with the `stop`
 * signal) a stop. Throws only when the work could not be queued, so that Linear delivers again;
 * everything else is answered in the session.
 */
export async function handleAgentSession(deps: LinearHandlerDeps, delivery: LinearDelivery): Promise<void> {
  const parsed = AgentSessionEvent.safeParse(delivery.body);
  const issueId = parsed.success ? issueIdOf(parsed.data) : undefined;
  if (!parsed.success || !issueId) {
    const { type, action } = delivery.envelope;
    deps.log.info({ type, action, delivery: delivery.deliveryId }, 'linear session event skipped');
    return;
  }
  const event = parsed.data;
  const organizationId = event.organizationId;
  const target: LinearTarget = {
    kind: 'linear-session',
    sessionId: event.agentSession.id,
    issueId,
    organizationId,
  };
  const req: LinearRequest = {
    target,
    issueId,
    organizationId,
    // Without the header, the session and action stand for the delivery: still one task per event.
    deliveryId: `linear:${delivery.deliveryId ?? `${event.agentSession.id}:${event.action}`}`,
    requester: event.agentSession.creator?.name,
  };
  if (event.action === 'created') {
    return withFirstThought(deps, req, async () => {
      const mention = event.agentSession.comment?.body;
      const said = mention ? afterLeadingMentions(mention) : '';
      // A mention that asks for something while the issue's task runs is a follow-up, not a start.
      if (said && (await deps.tasks.conversations.activeTask(toConversationKey(issueId))))
        return followUp(deps, req, said);
      return startOrAttach(deps, req, mention);
    });
  }
  if (event.agentActivity?.signal === 'stop') return onStop(deps, req);
  const said = event.agentActivity?.content.body?.trim();
  if (!said) return;
  return followUp(deps, req, said);
}

/** The `stop` signal: cancels the issue's newest task, once per delivery. */
async function onStop(deps: LinearHandlerDeps, req: LinearRequest) {
  if (!(await deps.kv.setIfAbsent(`action:${req.deliveryId}`, '1', DAY_SECONDS))) return;
  const conversation = toConversationKey(req.issueId);
  const stop = await deps.tasks.conversations.stopLatest(conversation);
  if (stop.kind === 'nothing') {
    return say(deps, req.target, { type: 'response', body: 'Nothing is running for this issue.' });
  }
  const { task } = stop;
  deps.log.info({ taskId: task.id, conversation }, 'linear stop requested');
  // A running task is stopped by its worker, whose reporter says so; a queued or waiting one is over now.
  if (stop.kind === 'stopped') {
    say(deps, req.target, { type: 'response', body: `Stopped task \`${task.id}\`.` });
  }
}

/**
 * Linear wants an activity within 10 s of `created`, and the usual first one (the task accepted) goes
 * out once the task is queued. When queueing takes more than a moment (a rate-limited issue read, a
 * busy start lock, a slow queue) or fails (Linear delivers again), a thought says Patchbay is on it
 * anyway. Its id comes from the delivery, so a redelivery does not say it twice.
 */
async function withFirstThought(deps: LinearHandlerDeps, req: LinearRequest, work: () => Promise<void>) {
  let said = false;
  const sayLooking = () => {
    if (said || req.target.kind !== 'linear-session') return;
    said = true;
    const { sessionId } = req.target;
    const thought = { type: 'thought', body: 'Looking at the issue…' } as const;
    const id = toStableUuid(`${req.deliveryId}:${sessionId}:first-thought`);
    const target = req.target;
    deps.background('first thought', () => apiAt(deps, target).postActivity(sessionId, thought, id));
  };
  const cancel = (deps.clock ?? systemClock).setTimer(sayLooking, FIRST_THOUGHT_MS);
  try {
    await work();
  } catch (err) {
    sayLooking();
    throw err;
  } finally {
    cancel();
  }
}
