import { FOLLOW_UP_INTRO } from './build-prompt.js';
import { wrapUntrusted } from './sanitize-untrusted.js';
import type { ChatMessage } from './types.js';

/**
 * How a transcript is made smaller, as pure functions of its messages. The first two messages (the
 * system prompt and the task) are never touched, so that the cached prefix every request shares
 * stays byte-identical; everything else is cut in large batches, since each cut invalidates the
 * cache from that message on.
 */

/** The system prompt and the task. */
export const PINNED = 2;

/** Tool outputs shorter than this are left alone: eliding them saves less than the note costs. */
const ELIDE_MIN_CHARS = 400;
const ELIDED_MARK = '[Output elided to save context';

/**
 * The index where the recent turns begin that compaction keeps as they are: the start of the oldest
 * assistant turn such that everything from it on fits `maxChars`, and never later than the last
 * assistant turn (the model's latest reply and its results are always kept).
 */
export function recentTurnsStart(
  messages: readonly ChatMessage[],
  maxChars: number,
  size: (m: ChatMessage) => number,
) {
  let last = messages.length;
  for (let i = messages.length - 1; i >= PINNED; i--) {
    if (messages[i]?.role === 'assistant') {
      last = i;
      break;
    }
  }
  let start = last;
  let chars = messages.slice(last).reduce((n, m) => n + size(m), 0);
  for (let i = last - 1; i >= PINNED; i--) {
    const message = messages[i];
    if (!message) break;
    chars += size(message);
    if (chars > maxChars) break;
    if (message.role === 'assistant') start = i;
  }
  return start;
}

/**
 * Replaces every tool output before `keepFrom` (and after the pinned head) with one line saying what
 * it held: the call that produced it stays, so the model still knows what it ran and can run it
 * again. Returns the new messages, how many outputs were elided, and the first index that changed.
 */
export function elideOldOutputs(messages: readonly ChatMessage[], keepFrom: number) {
  let elided = 0;
  let firstChanged = messages.length;
  const next = messages.map((message, i) => {
    if (i < PINNED || i >= keepFrom || message.role !== 'tool') return message;
    const content = typeof message.content === 'string' ? message.content : '';
    if (content.length < ELIDE_MIN_CHARS || content.startsWith(ELIDED_MARK)) return message;
    elided++;
    firstChanged = Math.min(firstChanged, i);
    return { ...message, content: elisionNote(content) };
  });
  return { messages: next, elided, firstChanged };
}

/** One line for an elided output: its size and how it began (for `bash`, the exit code and first line). */
export function elisionNote(content: string): string {
  const lines = content.split('\n');
  const head = lines
    .filter((line) => line.trim() !== '')
    .slice(0, 2)
    .join(' ⏎ ')
    .replace(/\s+/g, ' ')
    .slice(0, 160);
  return `${ELIDED_MARK}: ${lines.length} lines, ${content.length} characters. It began: ${head}]`;
}

/**
 * The request that asks the model for its hand-off summary: the transcript as it is (so it shares the
 * cached prefix), then the question. When that would not fit, the oldest turns after the pinned head
 * are left out of it (`keepFrom`: the first message still shown).
 */
export function summaryRequest(messages: readonly ChatMessage[], keepFrom = PINNED): ChatMessage[] {
  const shown = keepFrom > PINNED ? [leftOutNote(keepFrom - PINNED)] : [];
  return [
    ...messages.slice(0, PINNED),
    ...shown,
    ...messages.slice(keepFrom),
    { role: 'user', content: SUMMARY_REQUEST },
  ];
}

const leftOutNote = (count: number): ChatMessage => ({
  role: 'user',
  content: `[${count} earlier messages are not shown here: they did not fit.]`,
});

/** The question for the hand-off summary: fixed text, no task data. */
export const SUMMARY_REQUEST = `Your context window is nearly full. The conversation so far will be replaced by a hand-off summary that you write now; only the system prompt, the task, your summary and your most recent turns will remain. Do not call any tool in this reply. Write the summary for yourself, so that you can continue the task without the earlier messages, in these sections:
1. Task: what is asked, with every requirement, and every decision taken so far (including the requester's follow-ups and answers).
2. Done: what you changed and why, file by file.
3. Learned: facts about the code, the commands and their results that you will need again (exact names, paths, commands, error messages).
4. Left: what remains to do, in order, and how you will check it.
5. Files touched: every file you created, changed or deleted.
Be complete but brief: about 800 words at most.`;

/**
 * The compacted transcript: the pinned head, the run's latest follow-up request when the summary
 * replaces it (the model must not lose what it was asked last), the summary, then the recent turns
 * from `keepFrom` as they were.
 */
export function applySummary(
  messages: readonly ChatMessage[],
  keepFrom: number,
  summary: string,
): ChatMessage[] {
  const replaced = messages.slice(PINNED, keepFrom);
  const followUp = replaced.findLast((m) => m.role === 'user' && textOf(m).startsWith(FOLLOW_UP_INTRO));
  const files = filesTouched(replaced);
  const listed = files.length
    ? `\n\nFiles written with write_file or edit_file before this point: ${files.join(', ')}`
    : '';
  const note: ChatMessage = {
    role: 'user',
    content:
      `[Context compacted: ${replaced.length} earlier messages were replaced by the hand-off summary you wrote. ` +
      'Their tool outputs are gone: read files again when you need their current content.]\n' +
      `${wrapUntrusted('summary', summary)}${listed}`,
  };
  return [...messages.slice(0, PINNED), ...(followUp ? [followUp] : []), note, ...messages.slice(keepFrom)];
}

/**
 * A summary made without the model (it wrote none, or its request failed): the calls it made, most
 * recent last, so the model at least knows what it did.
 */
export function mechanicalSummary(messages: readonly ChatMessage[]): string {
  const calls = messages.flatMap((m) =>
    m.role === 'assistant' && m.tool_calls
      ? m.tool_calls.flatMap((c) =>
          c.type === 'function' ? [`${c.function.name} ${c.function.arguments.slice(0, 160)}`] : [],
        )
      : [],
  );
  const shown = calls.slice(-40);
  const more =
    calls.length > shown.length ? `(${calls.length - shown.length} earlier calls not listed)\n` : '';
  return `No summary was written. The tool calls made so far:\n${more}${shown.map((c) => `- ${c}`).join('\n')}`;
}

/** Paths given to write_file and edit_file, in order of first use. */
export function filesTouched(messages: readonly ChatMessage[]): string[] {
  const paths = new Set<string>();
  for (const message of messages) {
    if (message.role !== 'assistant' || !message.tool_calls) continue;
    for (const call of message.tool_calls) {
      if (call.type !== 'function' || !['write_file', 'edit_file'].includes(call.function.name)) continue;
      const path = pathOf(call.function.arguments);
      if (path) paths.add(path.slice(0, 200));
    }
  }
  return [...paths].slice(0, 100);
}

function pathOf(args: string): string | undefined {
  try {
    const parsed = JSON.parse(args) as { path?: unknown };
    return typeof parsed.path === 'string' ? parsed.path : undefined;
  } catch {
    return undefined;
  }
}

const textOf = (m: ChatMessage) => (typeof m.content === 'string' ? m.content : '');
