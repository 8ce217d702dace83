import type { FileConfig } from '../../config/file-schema.js';
import type { StepInfo, TaskEvent, TaskStage } from '../../domain/events.js';
import { type CheckResult, checkOutcome, type TaskRecord } from '../../domain/task.js';
import { escapeForSlack } from './parse-message.js';

/** Everything the bot writes in a thread. Text from the model or from people is escaped first. */

type Budget = FileConfig['budget'];

const STAGE_TEXT: Record<TaskStage, string> = {
  clone: 'Cloning the repository',
  setup: 'Running the setup commands',
  agent: 'Working on it',
  checks: 'Running the checks',
  pull_request: 'Pushing and updating the pull request',
};

const SUMMARY_LIMIT = 2_500;

export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export function formatSpend(usd: number | null, budget: Budget): string {
  if (usd === null) return 'no price set for this model';
  return `$${usd.toFixed(2)} of $${budget.usd.toFixed(2)}`;
}

function elapsed(task: TaskRecord, now: number): string {
  const started = task.startedAt ? Date.parse(task.startedAt) : Date.parse(task.createdAt);
  return formatDuration(now - started);
}

/** The status message's first line: repository and task, linked to the task's page when it has one. */
function headOf(task: TaskRecord, pageUrl: string | undefined): string {
  const page = pageUrl ? ` · <${pageUrl}|task page>` : '';
  return `\`${task.request.repo}\` · task \`${task.id}\`${page}`;
}

/** The one status message of a run, edited in place: stage or step, elapsed time, spend. */
export function progressText(
  task: TaskRecord,
  progress: { stage: TaskStage; step?: StepInfo },
  budget: Budget,
  now = Date.now(),
  pageUrl?: string,
): string {
  const head = headOf(task, pageUrl);
  const timing = `${elapsed(task, now)} elapsed · ${formatSpend(task.usage.usd, budget)}`;
  if (progress.step) {
    const detail = escapeForSlack(progress.step.detail.slice(0, 150)).replace(/`/g, "'");
    return `⚙️ ${head}\nStep ${progress.step.step} of ${budget.steps}: \`${detail}\` · ${timing}`;
  }
  return `⏳ ${head}\n${STAGE_TEXT[progress.stage]}… · ${timing}`;
}

/** The status message once a run is over (or paused on a question). */
export function endedText(event: TaskEvent, budget: Budget, now = Date.now(), pageUrl?: string): string {
  const { task } = event;
  const head = headOf(task, pageUrl);
  const tally = `${task.steps} steps · ${elapsed(task, now)} · ${formatSpend(task.usage.usd, budget)}`;
  if (event.type === 'question') return `❓ ${head}\nWaiting for your answer · ${tally}`;
  if (event.type === 'finished') return `✅ ${head}\nDone · ${tally}`;
  if (event.type === 'failed' && event.code === 'cancelled') return `🛑 ${head}\nStopped · ${tally}`;
  return `❌ ${head}\nFailed · ${tally}`;
}

/** The reply that ends a run: PR link, summary and checks; or what went wrong and what to do. */
export function resultText(event: TaskEvent): string {
  if (event.type === 'question') {
    return `❓ *A question before I go on:*\n${quote(event.question)}\nReply in this thread to answer.`;
  }
  if (event.type === 'failed') {
    if (event.code === 'cancelled') return '🛑 Stopped. Mention me again to start over.';
    const hint = event.hint ? `\n${escapeForSlack(event.hint)}` : '';
    return `❌ The task failed (\`${event.code}\`): ${escapeForSlack(event.message.slice(0, 500))}${hint}`;
  }
  if (event.type !== 'finished') return '';
  const summary = quote(truncate(event.summary, SUMMARY_LIMIT));
  const checks = event.checks.length
    ? `\n*Checks*\n${event.checks.map((c) => `${checkIcon(c)} \`${escapeForSlack(c.command).replace(/`/g, "'")}\`${checkNote(c)}`).join('\n')}`
    : '';
  if (!event.pullRequest) return `✅ Finished, with no pull request.\n${summary}${checks}`;
  const title = event.task.title ? `: *${escapeForSlack(event.task.title)}*` : '';
  return `✅ <${event.pullRequest.url}|Pull request #${event.pullRequest.number}>${title}\n${summary}${checks}`;
}

function checkIcon(c: CheckResult): string {
  return checkOutcome(c) === 'passed' ? '✅' : '❌';
}

function checkNote(c: CheckResult): string {
  const outcome = checkOutcome(c);
  if (outcome === 'timed_out') return ' (timed out)';
  return outcome === 'passed' ? '' : ` (exit ${c.exitCode ?? 'signal'})`;
}

function truncate(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

/** Slack block quote of untrusted text, escaped. */
export function quote(text: string): string {
  return escapeForSlack(text.trim())
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
}

/** `/status`: the newest task of the thread in one line. */
export function statusLine(task: TaskRecord, budget: Budget, now = Date.now()): string {
  const parts = [`Task \`${task.id}\` on \`${task.request.repo}\`: *${task.status.replace(/_/g, ' ')}*`];
  if (task.steps) parts.push(`step ${task.steps} of ${budget.steps}`);
  if (task.startedAt) parts.push(`${elapsed(task, task.finishedAt ? Date.parse(task.finishedAt) : now)}`);
  parts.push(formatSpend(task.usage.usd, budget));
  if (task.pullRequest) parts.push(`<${task.pullRequest.url}|PR #${task.pullRequest.number}>`);
  const question = task.status === 'waiting_for_input' && task.question ? `\n${quote(task.question)}` : '';
  return parts.join(' · ') + question;
}
