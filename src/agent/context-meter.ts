import type { ModelSpec } from '../domain/model-spec.js';
import { TOOL_DEFINITIONS } from './call-model.js';
import type { ChatMessage } from './types.js';

/**
 * Counts the prompt before each call, without a tokenizer: the endpoint's own count (its reported
 * `prompt_tokens`) for what was sent before, and an estimate for what is new, from its size in
 * characters at the ratio the endpoint's counts have shown so far. Before the first count the ratio
 * is a cautious 0.3 tokens per character (code and JSON run at 3–4 characters a token).
 */
export interface ContextMeter {
  readonly window: number;
  /** Tokens kept free for the answer. */
  readonly room: number;
  /**
   * The most a prompt may hold: the window less the room kept for the answer; lowered when the
   * endpoint turns out to serve a smaller window than configured.
   */
  limit: number;
  tokensPerChar: number;
  /** The last request the endpoint counted: its first `messages` messages held `promptTokens`. */
  counted?: { messages: number; promptTokens: number };
  /** How many messages the last request sent, and how many of them are unchanged since. */
  sent?: { messages: number; unchanged: number };
}

const START_TOKENS_PER_CHAR = 0.3;
/** A ratio outside this range is a server that does not count (or counts something else): ignored. */
const PLAUSIBLE = { min: 0.08, max: 1.5 } as const;
const TOOLS_CHARS = JSON.stringify(TOOL_DEFINITIONS).length;
/** Room for the answer when the model's entry sets no `max_output_tokens`. */
const MAX_ANSWER_ROOM = 16_384;

const sizes = new WeakMap<object, number>();

/** A message's size as sent (its JSON), remembered per message object. */
export function charsOf(message: ChatMessage): number {
  let size = sizes.get(message);
  if (size === undefined) {
    size = JSON.stringify(message).length;
    sizes.set(message, size);
  }
  return size;
}

const sum = (messages: readonly ChatMessage[]) => messages.reduce((n, m) => n + charsOf(m), 0);

/** The room kept for the answer: the entry's `max_output_tokens`, else an eighth of the window (at most 16k). */
export function answerRoom(model: ModelSpec): number {
  return model.maxOutputTokens ?? Math.min(MAX_ANSWER_ROOM, Math.floor(model.contextWindow / 8));
}

export function createMeter(model: ModelSpec): ContextMeter {
  const room = answerRoom(model);
  return {
    window: model.contextWindow,
    room,
    limit: Math.max(1, model.contextWindow - room),
    tokensPerChar: START_TOKENS_PER_CHAR,
  };
}

/** Tokens of `chars` characters at the ratio learnt so far. */
export function tokensFor(meter: ContextMeter, chars: number): number {
  return Math.ceil(chars * meter.tokensPerChar);
}

/** The prompt `messages` would make: counted for what the endpoint counted, estimated for the rest. */
export function estimatePrompt(meter: ContextMeter, messages: readonly ChatMessage[]): number {
  const counted = meter.counted;
  if (counted && meter.sent && counted.messages <= meter.sent.unchanged) {
    return counted.promptTokens + tokensFor(meter, sum(messages.slice(counted.messages)));
  }
  return estimateFresh(meter, messages);
}

/** The prompt `messages` would make, estimated in full (a request that shares no counted prefix). */
export function estimateFresh(meter: ContextMeter, messages: readonly ChatMessage[]): number {
  return tokensFor(meter, TOOLS_CHARS + sum(messages));
}

/** After a request: the endpoint's count of it (0 when it reports none) teaches the ratio. */
export function recordRequest(meter: ContextMeter, messages: readonly ChatMessage[], promptTokens: number) {
  meter.sent = { messages: messages.length, unchanged: messages.length };
  if (promptTokens <= 0) {
    meter.counted = undefined;
    return;
  }
  const ratio = promptTokens / (TOOLS_CHARS + sum(messages));
  if (ratio < PLAUSIBLE.min || ratio > PLAUSIBLE.max) {
    meter.counted = undefined;
    return;
  }
  meter.tokensPerChar = ratio;
  meter.counted = { messages: messages.length, promptTokens };
}

/**
 * The endpoint refused a request as too long. What it said, when it said it: the window it serves
 * (`window`, lower than configured: the limit follows it) and the request's size (`tokens`: the ratio
 * follows it). Whatever it said, the limit drops below the size of the refused request, so that the
 * compaction that follows makes it fit. The count of earlier requests no longer holds.
 */
export function recordOverflow(
  meter: ContextMeter,
  messages: readonly ChatMessage[],
  said: { window?: number; tokens?: number },
) {
  const chars = TOOLS_CHARS + sum(messages);
  if (said.tokens && said.tokens > chars * meter.tokensPerChar) {
    meter.tokensPerChar = Math.min(PLAUSIBLE.max, said.tokens / chars);
  }
  const refused = Math.ceil(chars * meter.tokensPerChar);
  const served =
    said.window && said.window < meter.window
      ? said.window - Math.min(meter.room, said.window / 8)
      : Infinity;
  meter.limit = Math.max(1, Math.floor(Math.min(meter.limit, served, refused * 0.9)));
  meter.counted = undefined;
}

/** Messages from `index` on were rewritten (compaction): what was counted before them only still holds. */
export function recordRewrite(meter: ContextMeter, index: number): void {
  if (meter.sent) meter.sent.unchanged = Math.min(meter.sent.unchanged, index);
}

/**
 * The share of a request (in characters, the tool list included) that is an unchanged prefix of the
 * request before it: what a prompt cache can serve. Undefined for the first request.
 */
export function prefixShare(meter: ContextMeter, messages: readonly ChatMessage[]): number | undefined {
  if (!meter.sent) return undefined;
  const kept = Math.min(meter.sent.unchanged, meter.sent.messages, messages.length);
  const total = TOOLS_CHARS + sum(messages);
  return Math.round(((TOOLS_CHARS + sum(messages.slice(0, kept))) / total) * 1000) / 1000;
}
