import { type RecordedCall, type StandInReply, startHttpStandIn } from './http-stand-in.js';

/**
 * One answer of the scripted model: a tool call (or several), plain text, an HTTP error, or a body
 * that is not JSON. `delayMs` holds the answer back, to test cancelling a request in flight; `until`
 * holds it until the promise settles, so that a test decides when the model answers.
 */
export type ScriptedTurn = (
  | { tool: string; args: Record<string, unknown> }
  | { tool: string; rawArgs: string }
  | { calls: { tool: string; args: Record<string, unknown> }[] }
  | { content: string }
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { raw: string }
) & { delayMs?: number; until?: Promise<unknown> };

export interface ScriptedRequest {
  messages: unknown[];
  tools: unknown[];
  model: string;
  /** `auto`, or `none` when the client asks for text only (a compaction summary). */
  toolChoice: string | undefined;
  /** The prompt's size as this stand-in counts it (see countPromptTokens). */
  promptTokens: number;
}

export type Script = ScriptedTurn[] | ((req: ScriptedRequest, turn: number) => ScriptedTurn);

export interface ScriptedModelOptions {
  /**
   * `fixed` (default): every answer reports SCRIPTED_USAGE. `counted`: the prompt's own size
   * (countPromptTokens), and as cached the part of it that repeats the previous request's start,
   * as a prompt cache would.
   */
  usage?: 'fixed' | 'counted';
  /**
   * Refuse a request whose prompt, plus the `max_completion_tokens` it asks for, passes this many
   * tokens (counted as above) with the 400 OpenAI sends (`context_length_exceeded`).
   */
  contextWindow?: number;
  /** Refuse any request that carries one of these parameters with OpenAI's 400 naming it. */
  rejectParams?: string[];
}

export interface ScriptedModel {
  /** Base URL for the OpenAI client, `/v1` included. */
  url: string;
  /** The chat requests as received, in order. */
  requests: RecordedCall[];
  /** Indexes into `requests` of those the script answered (a held answer is not answered until it is). */
  answered: Set<number>;
  /** Indexes of those refused for a parameter or their length (`rejectParams`, `contextWindow`). */
  refused: Set<number>;
  /** Requests to anything but `POST /v1/chat/completions`; a test asserts this stays empty. */
  unmatched: RecordedCall[];
  close(): Promise<void>;
}

/**
 * The stand-in's token count of a request: its messages and tools as JSON, 3.5 characters a token,
 * as a rough tokenizer would make of code and JSON. Tests assert on requests with the same count.
 */
export function countPromptTokens(body: unknown): number {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  return Math.ceil(JSON.stringify({ tools: b.tools ?? [], messages: b.messages ?? [] }).length / 3.5);
}

/** The usage every scripted answer reports: fixed, so that tests can compute costs exactly. */
export const SCRIPTED_USAGE = { promptTokens: 1_000, cachedTokens: 600, completionTokens: 100 } as const;

/**
 * A stand-in for an OpenAI-compatible Chat Completions endpoint that answers from a script, one
 * answer per request. When the script runs out it answers 500 saying so, so a test notices.
 */
export async function startScriptedModel(
  script: Script,
  opts: ScriptedModelOptions = {},
): Promise<ScriptedModel> {
  const standIn = await startHttpStandIn({ prefix: '/v1' });
  const answered = new Set<number>();
  const refusals = new Set<number>();
  let turn = 0;
  let previous = '';
  standIn.on('POST /chat/completions', async (call) => {
    const index = standIn.calls.indexOf(call);
    const body = (typeof call.body === 'object' && call.body !== null ? call.body : {}) as Record<
      string,
      unknown
    >;
    const refused = refusal(body, opts);
    if (refused) {
      refusals.add(index);
      return refused;
    }
    const req = toRequest(body);
    // Tools first, as a chat template renders them before the messages: the order a prompt cache sees.
    const text = JSON.stringify({ tools: req.tools, messages: req.messages });
    const usage = opts.usage === 'counted' ? countedUsage(text, previous) : undefined;
    previous = text;
    const n = turn++;
    const next = typeof script === 'function' ? script(req, n) : script[n];
    if (!next) {
      const message = `scripted model: the script ran out after ${n} turns`;
      return { status: 500, json: { error: { message, type: 'server_error', code: null, param: null } } };
    }
    // unref: a delayed answer nobody waits for any more must not keep the process alive.
    if (next.delayMs) await new Promise((resolve) => setTimeout(resolve, next.delayMs).unref());
    if (next.until) await next.until.catch(() => undefined);
    answered.add(index);
    return answer(next, req.model, n, usage);
  });
  return {
    url: standIn.url,
    requests: standIn.calls,
    answered,
    refused: refusals,
    unmatched: standIn.unmatched,
    close: () => standIn.close(),
  };
}

const apiError = (message: string, code: string, param: string | null): StandInReply => ({
  status: 400,
  json: { error: { message, type: 'invalid_request_error', code, param } },
});

/** What OpenAI answers a request it refuses for a parameter or for its length. */
function refusal(body: Record<string, unknown>, opts: ScriptedModelOptions): StandInReply | undefined {
  const param = opts.rejectParams?.find((p) => p in body);
  if (param) {
    const message = `Unsupported parameter: '${param}' is not supported with this model.`;
    return apiError(message, 'unsupported_parameter', param);
  }
  if (opts.contextWindow === undefined) return undefined;
  const wanted = countPromptTokens(body) + Number(body.max_completion_tokens ?? 0);
  if (wanted <= opts.contextWindow) return undefined;
  const message =
    `This model's maximum context length is ${opts.contextWindow} tokens. However, you requested ` +
    `${wanted} tokens. Please reduce the length of the messages or completion.`;
  return apiError(message, 'context_length_exceeded', 'messages');
}

/** The prompt's count, and as cached the whole characters it shares with the previous request's start. */
function countedUsage(text: string, previous: string) {
  let shared = 0;
  const max = Math.min(text.length, previous.length);
  while (shared < max && text.charCodeAt(shared) === previous.charCodeAt(shared)) shared++;
  const promptTokens = Math.ceil(text.length / 3.5);
  return {
    promptTokens,
    cachedTokens: Math.min(promptTokens, Math.floor(shared / 3.5)),
    completionTokens: 100,
  };
}

function toRequest(b: Record<string, unknown>): ScriptedRequest {
  return {
    messages: Array.isArray(b.messages) ? b.messages : [],
    tools: Array.isArray(b.tools) ? b.tools : [],
    model: typeof b.model === 'string' ? b.model : '',
    toolChoice: typeof b.tool_choice === 'string' ? b.tool_choice : undefined,
    promptTokens: countPromptTokens(b),
  };
}

type Usage = { promptTokens: number; cachedTokens: number; completionTokens: number };

function answer(turn: ScriptedTurn, model: string, index: number, usage?: Usage): StandInReply {
  if ('status' in turn) {
    const json = turn.body ?? {
      error: { message: `scripted error ${turn.status}`, type: 'scripted_error', code: null, param: null },
    };
    return { status: turn.status, json, headers: turn.headers };
  }
  if ('raw' in turn) return { status: 200, text: turn.raw, headers: { 'content-type': 'application/json' } };
  if ('content' in turn)
    return { json: completion(model, index, { role: 'assistant', content: turn.content }, 'stop', usage) };
  const calls =
    'calls' in turn
      ? turn.calls.map((c) => ({ tool: c.tool, args: JSON.stringify(c.args) }))
      : [{ tool: turn.tool, args: 'rawArgs' in turn ? turn.rawArgs : JSON.stringify(turn.args) }];
  const message = {
    role: 'assistant',
    content: null,
    tool_calls: calls.map((c, i) => ({
      id: `call_${index}_${i}`,
      type: 'function',
      function: { name: c.tool, arguments: c.args },
    })),
  };
  return { json: completion(model, index, message, 'tool_calls', usage) };
}

function completion(
  model: string,
  index: number,
  message: Record<string, unknown>,
  finishReason: string,
  usage: Usage = SCRIPTED_USAGE,
) {
  const { promptTokens, cachedTokens, completionTokens } = usage;
  return {
    id: `chatcmpl-scripted-${index}`,
    object: 'chat.completion',
    created: 1_700_000_000 + index,
    model: model || 'scripted-model',
    choices: [
      { index: 0, message: { refusal: null, ...message }, finish_reason: finishReason, logprobs: null },
    ],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: cachedTokens, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
    },
  };
}
