import type { StepInfo, TaskEvent, TaskStage } from '../../domain/events.js';
import type { TaskRecord } from '../../domain/task.js';
import { finalContent } from './activity-content.js';

const STAGE_TEXT: Record<TaskStage, string> = {
  clone: 'cloning the repository',
  setup: 'running the setup commands',
  agent: 'working on the change',
  checks: 'running the checks',
  pull_request: 'opening the pull request',
};

/** The progress comment while the run goes: stage, steps so far, the last step. */
export function progressText(task: TaskRecord, stage: TaskStage, step?: StepInfo, pageUrl?: string): string {
  const head = `⚙️ Working: \`${task.request.repo}\`, task \`${task.id}\` — ${STAGE_TEXT[stage]}`;
  const page = pageUrl ? `\n\n[Task page](${pageUrl})` : '';
  if (!step) return `${head}.${page}`;
  const detail = step.detail.replace(/\s+/g, ' ').slice(0, 200);
  return `${head}, step ${step.step}.\n\nLast: \`${detail.replace(/`/g, "'")}\`${page}`;
}

/** The progress comment's last version; the details go in the reply. */
export function endedText(event: TaskEvent): string {
  const task = event.task;
  const steps = `${task.steps} step${task.steps === 1 ? '' : 's'}`;
  switch (event.type) {
    case 'finished':
      return event.pullRequest
        ? `✅ Done: task \`${task.id}\`, ${steps}, [pull request #${event.pullRequest.number}](${event.pullRequest.url}).`
        : `✅ Done: task \`${task.id}\`, ${steps}, nothing to change.`;
    case 'question':
      return `❓ Task \`${task.id}\` waits for an answer (see the reply).`;
    case 'failed':
      return event.code === 'cancelled'
        ? `⏹️ Stopped: task \`${task.id}\`.`
        : `❌ Failed: task \`${task.id}\` (${event.code}).`;
    default:
      return `Task \`${task.id}\`.`;
  }
}

/** The reply under the progress comment: the result, the question, or what went wrong. */
export function resultText(event: TaskEvent, botHandle: string | undefined): string | null {
  const content = finalContent(event);
  if (!content || !('body' in content)) return null;
  if (content.type === 'elicitation') {
    const how = botHandle ? `mention @${botHandle} in a comment` : 'mention me in a comment';
    return `${content.body}\n\nTo answer, ${how}.`;
  }
  return content.type === 'error' ? `❌ ${content.body}` : content.body;
}
