import { IssueWebhook, toConversationKey } from './linear-events.js';
import type { LinearDelivery } from './linear-receiver.js';
import { type LinearHandlerDeps, skipper } from './linear-replies.js';
import { startOrAttach } from './start-linear-task.js';

/**
 * An `Issue` webhook. `update` whose assignee became the bot user, or `create` of an issue assigned
 * to it (assignment mode), starts a task on the issue, or attaches the issue's comments to the task under way; `remove` (the issue was deleted)
 * cancels the issue's task. Everything else is skipped with a log line.
 */
export async function handleIssueEvent(deps: LinearHandlerDeps, delivery: LinearDelivery): Promise<void> {
  const parsed = IssueWebhook.safeParse(delivery.body);
  const skip = skipper(deps, delivery, 'issue');
  if (!parsed.success) return skip('not understood');
  const event = parsed.data;
  if (event.action === 'remove') return onRemoved(deps, event.data.id);
  // A new issue assigned at once to the bot counts as an assignment too.
  const from = event.action === 'create' ? { assigneeId: null } : (event.updatedFrom ?? {});
  if (!('assigneeId' in from) || from.assigneeId === event.data.assigneeId) return skip('assignee unchanged');
  const bot = await deps.bot();
  if (!bot) return skip('assignment mode is off');
  if (event.data.assigneeId !== bot.id) return skip('assigned to someone else');
  await startOrAttach(deps, {
    target: { kind: 'linear-issue', issueId: event.data.id, organizationId: event.organizationId },
    issueId: event.data.id,
    organizationId: event.organizationId,
    deliveryId: `linear:${delivery.deliveryId ?? `${event.data.id}:assigned:${delivery.envelope.webhookTimestamp}`}`,
  });
}

/** The issue is gone: its task stops, and the reporter's calls about it fail and are skipped. */
async function onRemoved(deps: LinearHandlerDeps, issueId: string): Promise<void> {
  const task = await deps.tasks.conversations.activeTask(toConversationKey(issueId));
  if (!task) return;
  await deps.tasks.cancel(task.id);
  deps.log.info({ taskId: task.id, issueId }, 'linear issue deleted; task cancelled');
}
