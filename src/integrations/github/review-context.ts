import { takeFreshStart, takeModelChoice } from '../../domain/request-options.js';
import type { ReviewComment } from './review-api.js';
import type { ReviewTrigger } from './review-events.js';
import { withoutMention } from './review-rules.js';

/** TaskRequest allows 50,000 characters of context and 20,000 of instruction; the rest is headroom. */
const MAX_CONTEXT_CHARS = 40_000;
const MAX_INSTRUCTION_CHARS = 18_000;
const MAX_HUNK_LINES = 6;

/**
 * What the agent is asked, from a comment or a review. Both texts are untrusted: the instruction and
 * the context reach the model wrapped as data (agent/build-prompt.ts), never as instructions.
 */
export function buildReviewRequest(
  trigger: ReviewTrigger,
  comments: ReviewComment[],
): { instruction: string; context?: string; model?: string; fresh?: true } {
  // `model=<name>` chooses a model; `fresh:` first starts afresh instead of continuing the transcript.
  const { model, text } = takeModelChoice(withoutMention(trigger.body));
  const start = takeFreshStart(text);
  const said = cut(start.text, MAX_INSTRUCTION_CHARS);
  const chosen = { ...(model ? { model } : {}), ...(start.fresh ? { fresh: true as const } : {}) };
  const who = trigger.sender.login;
  if (trigger.reviewId === undefined) {
    return {
      instruction: said || `Address ${who}'s comment on pull request #${trigger.number}.`,
      context: `Comment by ${who} on pull request #${trigger.number}.`,
      ...chosen,
    };
  }
  const state = trigger.reviewState === 'changes_requested' ? ' (changes requested)' : '';
  const review = trigger.event === 'pull_request_review' && said ? said : '';
  const instruction = [
    `Address the review feedback of ${who} on pull request #${trigger.number}: the review's comments are listed in the discussion, each with the file and line it points at.`,
    review,
    trigger.event === 'pull_request_review_comment' && said ? `In particular: ${said}` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
  const lines = [`Review by ${who}${state} on pull request #${trigger.number}.`];
  if (review) lines.push(`Review summary:\n${review}`);
  if (comments.length > 0) {
    lines.push('Inline comments (file and line each points at):');
    lines.push(...comments.map((c, i) => renderComment(c, i + 1)));
  }
  return { instruction, context: cut(lines.join('\n\n'), MAX_CONTEXT_CHARS), ...chosen };
}

function renderComment(c: ReviewComment, n: number): string {
  const line = c.line ?? c.original_line;
  const where = line ? `${c.path}, line ${line}` : `${c.path} (outdated position)`;
  const hunk = (c.diff_hunk ?? '').split('\n').slice(-MAX_HUNK_LINES).join('\n');
  const code = hunk ? `\n   The code it points at (end of the diff hunk):\n${indent(hunk)}` : '';
  return `${n}. ${where}, by ${c.user?.login ?? 'someone'}:\n${indent(c.body ?? '')}${code}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `   ${l}`)
    .join('\n');
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n… (cut)`;
}
