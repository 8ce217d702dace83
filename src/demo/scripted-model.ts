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
}

export type Script = ScriptedTurn[] | ((req: ScriptedRequest, turn: number) => ScriptedTurn);

export interface ScriptedModel {
  /** Base URL for the OpenAI client, `/v1` included. */
  url: string;
  /** The chat requests as received, in order. */
  requests: RecordedCall[];
  /** Requests to anything but `POST /v1/chat/completions`; a test asserts this stays empty. */
  unmatched: RecordedCall[];
  close(): Promise<void>;
}

/** The usage every scripted answer reports: fixed, so that tests can compute costs exactly. */
export const SCRIPTED_USAGE = { promptTokens: 1_000, cachedTokens: 600, completionTokens: 100 } as const;

/**
 * A stand-in for an OpenAI-compatible Chat Completions endpoint that answers from a script, one
 * answer per request. When the script runs out it answers 500 saying so, so a test notices.
 */
export async function startScriptedModel(script: Script): Promise<ScriptedModel> {
  const standIn = await startHttpStandIn({ prefix: '/v1' });
  let turn = 0;
  standIn.on('POST /chat/completions', async (call) => {
    const index = turn++;
    const req = toRequest(call.body);
    const next = typeof script === 'function' ? script(req, index) : script[index];
    if (!next) {
      const message = `scripted model: the script ran out after ${index} turns`;
      return { status: 500, json: { error: { message, type: 'server_error', code: null, param: null } } };
    }
    // unref: a delayed answer nobody waits for any more must not keep the process alive.
    if (next.delayMs) await new Promise((resolve) => setTimeout(resolve, next.delayMs).unref());
    if (next.until) await next.until.catch(() => undefined);
    return answer(next, req.model, index);
  });
  return {
    url: standIn.url,
    requests: standIn.calls,
    unmatched: standIn.unmatched,
    close: () => standIn.close(),
  };
}

function toRequest(body: unknown): ScriptedRequest {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  return {
    messages: Array.isArray(b.messages) ? b.messages : [],
    tools: Array.isArray(b.tools) ? b.tools : [],
    model: typeof b.model === 'string' ? b.model : '',
  };
}

function answer(turn: ScriptedTurn, model: string, index: number): StandInReply {
  if ('status' in turn) {
    const json = turn.body ?? {
      error: { message: `scripted error ${turn.status}`, type: 'scripted_error', code: null, param: null },
    };
    return { status: turn.status, json, headers: turn.headers };
  }
  if ('raw' in turn) return { status: 200, text: turn.raw, headers: { 'content-type': 'application/json' } };
  if ('content' in turn)
    return { json: completion(model, index, { role: 'assistant', content: turn.content }, 'stop') };
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
  return { json: completion(model, index, message, 'tool_calls') };
}

function completion(model: string, index: number, message: Record<string, unknown>, finishReason: string) {
  const { promptTokens, cachedTokens, completionTokens } = SCRIPTED_USAGE;
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
