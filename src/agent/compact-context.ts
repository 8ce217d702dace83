import type OpenAI from 'openai';
import { PatchbayError } from '../domain/errors.js';
import { type AgentSession, keepWork, persistRewrite, reportActivity, timeLeftMs } from './agent-session.js';
import { addTokens, priceTokens } from './budget.js';
import { callModel } from './call-model.js';
import {
  applySummary,
  elideOldOutputs,
  mechanicalSummary,
  PINNED,
  recentTurnsStart,
  summaryRequest,
} from './compact-transcript.js';
import {
  charsOf,
  estimateFresh,
  estimatePrompt,
  prefixShare,
  recordRequest,
  recordRewrite,
} from './context-meter.js';
import type { ChatMessage } from './types.js';

/**
 * Compaction starts when the prompt passes this share of the limit (the window less the room for the
 * answer) and brings it under LOW_WATER: each compaction breaks the cached prefix from the first
 * message it changes, so it is done rarely and in large batches rather than a little every turn.
 */
const HIGH_WATER = 0.85;
const LOW_WATER = 0.4;
/** Recent turns left as they are: by eliding, up to this share of the limit; by a summary, this. */
const KEEP_ELIDING = 0.15;
const KEEP_SUMMARIZING = 0.1;

export type CompactionReason = 'limit' | 'overflow';

/**
 * Makes room in the context window before a model call when the prompt nears the limit, or at once
 * after the endpoint answered "context length exceeded" (`overflow`). Eliding the older tool outputs
 * comes first, when that alone brings the prompt under the low-water mark; otherwise the older turns
 * are replaced by a hand-off summary the model writes, asked on the transcript as it was sent (the
 * cached prefix) when that fits, else on the elided one. The system prompt and the task are never
 * changed. The compacted transcript replaces the stored one, with the work tree kept as it is now.
 * Throws a permanent error when even the pinned messages and the latest turn do not fit.
 */
export async function compactContext(
  s: AgentSession,
  openai: OpenAI,
  reason: CompactionReason,
): Promise<void> {
  const { meter } = s;
  const before = estimatePrompt(meter, s.messages);
  if (!s.compact || (reason === 'limit' && before <= meter.limit * HIGH_WATER)) return;
  const elided = elideOldOutputs(s.messages, keepFrom(s, KEEP_ELIDING));
  const whenElided =
    elided.elided > 0 ? estimateRewritten(meter, elided.messages, elided.firstChanged) : before;
  let now = before;
  let changed = true;
  if (elided.elided > 0 && whenElided <= meter.limit * LOW_WATER) {
    s.messages = elided.messages;
    recordRewrite(meter, elided.firstChanged);
    now = estimatePrompt(meter, s.messages);
    reportCompaction(s, { kind: 'elide', reason, before, after: now, messages: elided.elided });
  } else {
    const replaced = await summarize(s, openai, elided.messages);
    if (replaced > 0) {
      now = estimatePrompt(meter, s.messages);
      reportCompaction(s, { kind: 'summary', reason, before, after: now, messages: replaced });
    } else if (elided.elided > 0) {
      s.messages = elided.messages;
      recordRewrite(meter, elided.firstChanged);
      now = estimatePrompt(meter, s.messages);
      reportCompaction(s, { kind: 'elide', reason, before, after: now, messages: elided.elided });
    } else changed = false;
  }
  if (changed) await persistRewrite(s, await keepWork(s));
  if (now > meter.limit) throw tooLarge(s, now);
}

/** The prompt of `messages`, whose first change from what was sent is at `firstChanged`. */
function estimateRewritten(
  meter: AgentSession['meter'],
  messages: ChatMessage[],
  firstChanged: number,
): number {
  const counted = meter.counted;
  if (!counted || !meter.sent || counted.messages > Math.min(firstChanged, meter.sent.unchanged)) {
    return estimateFresh(meter, messages);
  }
  return estimatePrompt(meter, messages);
}

/** Where the recent turns kept as they are begin, for a share of the limit. */
function keepFrom(s: AgentSession, share: number): number {
  return recentTurnsStart(s.messages, (s.meter.limit * share) / s.meter.tokensPerChar, charsOf);
}

/**
 * Replaces the turns before the recent ones with the model's hand-off summary (or, if it wrote
 * none, a list of its calls). Returns how many messages it replaced; 0 when there was nothing older
 * than the recent turns. `elided`: the same transcript with older outputs elided, asked on instead
 * when the transcript as it is would not fit the request.
 */
async function summarize(s: AgentSession, openai: OpenAI, elided: ChatMessage[]): Promise<number> {
  const from = keepFrom(s, KEEP_SUMMARIZING);
  if (from <= PINNED) return 0;
  const asked = estimatePrompt(s.meter, summaryRequest(s.messages)) <= s.meter.limit ? s.messages : elided;
  const summary =
    (await askForSummary(s, openai, asked, from)) ?? mechanicalSummary(s.messages.slice(PINNED, from));
  if (s.input.signal.aborted) return 0;
  s.messages = applySummary(s.messages, from, summary);
  recordRewrite(s.meter, PINNED);
  return from - PINNED;
}

/**
 * The summary request: the transcript plus the question, tools kept but not to be called, so that it
 * shares the cached prefix. Turns after the pinned head are left out of it, oldest first, while it
 * would not fit. Undefined when the model wrote no text or refused the request.
 */
async function askForSummary(
  s: AgentSession,
  openai: OpenAI,
  messages: ChatMessage[],
  recentFrom: number,
): Promise<string | undefined> {
  let shownFrom = PINNED;
  let request = summaryRequest(messages);
  const cached = messages === s.messages;
  while (
    estimateRequest(s, request, cached && shownFrom === PINNED) > s.meter.limit &&
    shownFrom < recentFrom
  ) {
    shownFrom = nextTurn(messages, shownFrom, recentFrom);
    request = summaryRequest(messages, shownFrom);
  }
  const share = cached && shownFrom === PINNED ? prefixShare(s.meter, request) : undefined;
  const started = Date.now();
  const bounded = AbortSignal.any([s.input.signal, AbortSignal.timeout(Math.max(1, timeLeftMs(s)))]);
  let reply: Awaited<ReturnType<typeof callModel>>;
  try {
    reply = await callModel(openai, s.model, request, bounded, { toolChoice: 'none' });
  } catch (err) {
    if (!(err instanceof PatchbayError) || !err.permanent) throw err;
    s.log.warn(
      { err: err.message.slice(0, 300) },
      'the summary request was refused; summarizing without the model',
    );
    return undefined;
  }
  if (reply.kind !== 'reply') return undefined;
  s.tokens = addTokens(s.tokens, reply.tokens);
  recordRequest(s.meter, request, reply.tokens.promptTokens);
  const text = reply.content?.trim() ? reply.content.trim() : undefined;
  reportActivity(s, {
    type: 'model_turn',
    turn: ++s.turns,
    model: s.model.name,
    text,
    toolCalls: 0,
    ...reply.tokens,
    usd: priceTokens(reply.tokens, s.model.price),
    durationMs: Date.now() - started,
    prefixShare: share,
  });
  return text;
}

/** The summary request's prompt: counted where it extends what was sent (`onSentPrefix`), else estimated. */
function estimateRequest(s: AgentSession, request: ChatMessage[], onSentPrefix: boolean): number {
  return onSentPrefix ? estimatePrompt(s.meter, request) : estimateFresh(s.meter, request);
}

/** The next assistant turn after `from` (so a request never starts with orphaned tool results). */
function nextTurn(messages: readonly ChatMessage[], from: number, limit: number): number {
  for (let i = from + 1; i < limit; i++) if (messages[i]?.role === 'assistant') return i;
  return limit;
}

function reportCompaction(
  s: AgentSession,
  c: { kind: 'elide' | 'summary'; reason: CompactionReason; before: number; after: number; messages: number },
): void {
  s.compactions++;
  s.log.info(
    { kind: c.kind, reason: c.reason, before: c.before, after: c.after, messages: c.messages },
    'compacted the transcript',
  );
  reportActivity(s, {
    type: 'compaction',
    kind: c.kind,
    reason: c.reason,
    model: s.model.name,
    contextWindow: s.meter.window,
    tokensBefore: c.before,
    tokensAfter: c.after,
    messages: c.messages,
    compactions: s.compactions,
  });
}

function tooLarge(s: AgentSession, tokens: number): PatchbayError {
  return new PatchbayError(
    'model_error',
    `The task does not fit the context window of ${s.model.name}: about ${tokens} tokens even after compacting, for a limit of ${s.meter.limit}.`,
    {
      permanent: true,
      hint: 'Choose a model with a larger context window, set its `context_window` under `models:` if the server allows more, or shorten the request.',
    },
  );
}
