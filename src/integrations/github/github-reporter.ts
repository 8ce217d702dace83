import type { PlaceReporter, TaskEvent } from '../../domain/events.js';
import { checkOutcome } from '../../domain/task.js';
import type { Logger } from '../../lib/logger.js';
import { neutralise } from './pr-body.js';

const MAX_SUMMARY_CHARS = 20_000;
const MAX_FILES = 20;

export interface PullRequestCommenter {
  comment(repo: string, number: number, body: string): Promise<void>;
}

/**
 * Renders a task on the pull requests in its audience, in the worker process: one comment when it
 * finished (summary, the commit it pushed, checks), failed (error and hint) or asks a question. The
 * 👀 on the comment that asked was its acknowledgment, so nothing is posted before. Everything the
 * model or an error wrote is neutralised: it cannot @-mention anyone or forge Patchbay's marker.
 */
export function createGitHubReporter(deps: { pulls: PullRequestCommenter; log: Logger }): PlaceReporter {
  return {
    kinds: ['github-pull'],
    async report(event, places) {
      const text = render(event);
      if (!text) return;
      const footer = `\n\n<sub>Patchbay task \`${event.task.id}\`</sub>`;
      for (const place of places) {
        if (place.kind !== 'github-pull') continue;
        await deps.pulls.comment(place.repo, place.number, `${text}${footer}`);
        deps.log.info(
          { taskId: event.task.id, pr: place.number, event: event.type },
          'replied on pull request',
        );
      }
    },
  };
}

function render(event: TaskEvent): string | undefined {
  switch (event.type) {
    case 'finished':
      return renderFinished(event);
    case 'failed':
      return renderFailed(event);
    case 'question':
      return [
        `❓ **Patchbay needs an answer before it goes on:**\n\n${safe(event.question, 5_000)}`,
        'Reply with a comment that mentions `@patchbay`: it is taken as the answer.',
      ].join('\n\n');
    default:
      return undefined;
  }
}

function renderFinished(event: Extract<TaskEvent, { type: 'finished' }>): string {
  const parts = [`✅ **Done.**\n\n${safe(event.summary, MAX_SUMMARY_CHARS)}`];
  const branch = event.task.branch ? ` to \`${codeText(event.task.branch)}\`` : '';
  if (event.commit) {
    const sha = event.commit.sha.slice(0, 12);
    const link = event.pullRequest
      ? `[\`${sha}\`](${event.pullRequest.url}/commits/${event.commit.sha})`
      : `\`${sha}\``;
    const files = event.commit.files.slice(0, MAX_FILES).map((f) => `- \`${codeText(f)}\``);
    const more =
      event.commit.files.length > MAX_FILES ? [`- …and ${event.commit.files.length - MAX_FILES} more`] : [];
    parts.push([`**Pushed** ${link}${branch}, changing:`, ...files, ...more].join('\n'));
  } else {
    parts.push('No new commit: nothing needed changing.');
  }
  if (event.checks.length > 0) {
    const lines = event.checks.map((c) => {
      const outcome = checkOutcome(c);
      const ok = outcome === 'passed';
      const result =
        outcome === 'timed_out' ? 'timed out' : ok ? 'passed' : `failed (exit ${c.exitCode ?? 'killed'})`;
      return `- ${ok ? '✅' : '❌'} \`${codeText(c.command)}\` ${result}`;
    });
    parts.push(['**Checks**', ...lines].join('\n'));
  }
  return parts.join('\n\n');
}

function renderFailed(event: Extract<TaskEvent, { type: 'failed' }>): string {
  if (event.code === 'cancelled') return '⏹ **Stopped.** Nothing more was pushed.';
  const hint = event.hint ? `\n\n${safe(event.hint, 2_000)}` : '';
  return `❌ **Patchbay could not finish** (\`${codeText(event.code)}\`): ${safe(event.message, 2_000)}${hint}`;
}

/** Markdown from the model or an error: kept as markdown, but no mention, no HTML comment. */
function safe(text: string, max: number): string {
  const cut = text.length > max ? `${text.slice(0, max)}… (cut)` : text;
  return neutralise(cut.trim()) || '_No summary._';
}

/** Text inside a code span we open: no backtick can close it early, no line break. */
function codeText(text: string): string {
  return neutralise(text.replace(/[`\r\n]/g, ' ').slice(0, 300));
}
