import type { StepInfo, TaskEvent } from '../../domain/events.js';
import { checkOutcome } from '../../domain/task.js';
import type { ActivityContent } from './linear-api.js';

const MAX_PARAMETER = 500;
const MAX_SUMMARY = 8_000;

/**
 * One `action` activity for the agent steps since the last one: a single step as itself
 * (`bash` · `npm test`), several as a count and their one-line details. Coalescing keeps a long run
 * from filling the session (and Linear's rate limit) with one activity per tool call.
 */
export function stepsToAction(steps: StepInfo[]): ActivityContent | null {
  const [first] = steps;
  if (!first) return null;
  if (steps.length === 1) {
    const parameter = first.detail.startsWith(`${first.tool}: `)
      ? first.detail.slice(first.tool.length + 2)
      : first.detail;
    return { type: 'action', action: first.tool, parameter: cut(parameter, MAX_PARAMETER) };
  }
  const details = steps.map((s) => s.detail.replace(/\s+/g, ' ')).join(' · ');
  return {
    type: 'action',
    action: `${steps.length} steps`,
    parameter: cut(details, MAX_PARAMETER),
  };
}

/** The last activity of a run: a `response` (PR, summary, checks), an `elicitation`, or an `error`. */
const CHECK_ICON = { passed: '✅', failed: '❌', timed_out: '⏱️' } as const;

export function finalContent(event: TaskEvent): ActivityContent | null {
  switch (event.type) {
    case 'question':
      return { type: 'elicitation', body: cut(event.question, MAX_SUMMARY) };
    case 'finished': {
      const pr = event.pullRequest
        ? `[Pull request #${event.pullRequest.number}](${event.pullRequest.url})`
        : 'No change was needed, so there is no pull request.';
      const checks = event.checks.map((c) => `${CHECK_ICON[checkOutcome(c)]} \`${c.command.slice(0, 200)}\``);
      const body = [pr, cut(event.summary.trim(), MAX_SUMMARY), checks.join('\n')].filter(Boolean);
      return { type: 'response', body: body.join('\n\n') };
    }
    case 'failed':
      if (event.code === 'cancelled') return { type: 'response', body: 'Stopped as asked.' };
      return {
        type: 'error',
        body: cut(`${event.message}${event.hint ? `\n\n${event.hint}` : ''}`, MAX_SUMMARY),
      };
    default:
      return null;
  }
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
