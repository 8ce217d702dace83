import { answerText, followUpMessage, networkNote } from './build-prompt.js';
import type { ModelToolCall } from './call-model.js';
import type { ChatMessage } from './types.js';

const INTERRUPTED =
  'Not run: the run was interrupted before this call completed. Check the current state and repeat it if needed.';

/**
 * Continues a saved transcript, append-only (earlier messages stay byte-identical for the prompt
 * cache). Every tool call left without a result gets one, because the API refuses a transcript with
 * unanswered calls: the pending `ask_user` gets the requester's answer (wrapped as untrusted), any
 * other a note that it did not run. A follow-up becomes a new user message.
 */
export function resumeTranscript(
  transcript: ChatMessage[],
  opts: { answer?: string; followUp?: string; context?: string; allowedDomains?: readonly string[] },
): ChatMessage[] {
  const messages = [...transcript];
  let answered = false;
  for (const call of pendingToolCalls(transcript)) {
    let content = INTERRUPTED;
    if (call.name === 'ask_user') {
      content = opts.answer !== undefined ? answerText(opts.answer) : 'No answer was given to this question.';
      answered = opts.answer !== undefined;
    }
    messages.push({ role: 'tool', tool_call_id: call.id, content });
  }
  if (opts.answer !== undefined && !answered)
    messages.push({ role: 'user', content: answerText(opts.answer) });
  if (opts.followUp?.trim()) messages.push(followUpMessage(opts.followUp, opts.context));
  // A follow-up may come after the repository's network changed: the model is told what holds now.
  if (opts.followUp?.trim() && opts.allowedDomains?.length)
    messages.push({ role: 'user', content: networkNote(opts.allowedDomains) });
  return messages;
}

/** Tool calls of the last assistant message that no tool message answers. */
export function pendingToolCalls(transcript: ChatMessage[]): ModelToolCall[] {
  const index = transcript.findLastIndex((m) => m.role === 'assistant');
  const last = transcript[index];
  if (last?.role !== 'assistant' || !last.tool_calls) return [];
  const answered = new Set(
    transcript.slice(index + 1).flatMap((m) => (m.role === 'tool' ? [m.tool_call_id] : [])),
  );
  return last.tool_calls
    .filter((call) => !answered.has(call.id))
    .map((call) =>
      call.type === 'function'
        ? { id: call.id, name: call.function.name, arguments: call.function.arguments }
        : { id: call.id, name: call.custom.name, arguments: call.custom.input },
    );
}
