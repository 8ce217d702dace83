import type { LinearIssue } from './linear-api.js';

const MAX_INSTRUCTION = 20_000;
const MAX_CONTEXT = 50_000;
const MAX_COMMENT = 4_000;

/**
 * The instruction for the agent: the issue's identifier, title and description, and, when the session
 * was opened by a mention in a comment, that comment first. All of it is untrusted text that the
 * agent receives as data, never as Patchbay's own instructions.
 */
export function toInstruction(issue: LinearIssue, mention?: string | null): string {
  const description = issue.description?.trim() || '(no description)';
  const parts = [`Linear issue ${issue.identifier}: ${issue.title.trim()}`, description];
  const asked = mention?.trim();
  if (asked) parts.unshift(`Request (comment on ${issue.identifier}): ${asked}`);
  return parts.join('\n\n').slice(0, MAX_INSTRUCTION);
}

/**
 * Context beyond the instruction: the issue's labels and its comments, oldest first, each cut to a
 * few thousand characters; the newest comments win when the whole does not fit.
 */
export function toContext(issue: LinearIssue): string | undefined {
  const labels = issue.labels.nodes.map((l) => l.name).filter(Boolean);
  const comments = [...issue.comments.nodes]
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))
    .map((c) => `${c.user?.name ?? 'someone'}: ${c.body.trim().slice(0, MAX_COMMENT)}`);
  const head = labels.length ? `Labels: ${labels.join(', ')}` : '';
  const kept: string[] = [];
  let size = head.length;
  for (const comment of comments.reverse()) {
    if (size + comment.length + 2 > MAX_CONTEXT) break;
    kept.unshift(comment);
    size += comment.length + 2;
  }
  const body = kept.length ? `Comments on ${issue.identifier}:\n\n${kept.join('\n\n')}` : '';
  const context = [head, body].filter(Boolean).join('\n\n');
  return context || undefined;
}
