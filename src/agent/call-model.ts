import type OpenAI from 'openai';
import { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { z } from 'zod';
import { PatchbayError } from '../domain/errors.js';
import type { ModelSpec } from '../domain/model-spec.js';
import type { TokenCounts } from './budget.js';
import { ALL_TOOLS } from './tools/all-tools.js';
import type { ChatMessage } from './types.js';

/** The parts of a Chat Completions response the loop relies on; anything else is ignored. */
const Completion = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullish(),
          tool_calls: z
            .array(
              z.object({ id: z.string(), function: z.object({ name: z.string(), arguments: z.string() }) }),
            )
            .nullish(),
        }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: z
    .object({
      prompt_tokens: z.number().nonnegative(),
      completion_tokens: z.number().nonnegative(),
      prompt_tokens_details: z.object({ cached_tokens: z.number().nonnegative().nullish() }).nullish(),
    })
    .nullish(),
});

export interface ModelToolCall {
  id: string;
  name: string;
  arguments: string;
}

export type ModelReply =
  | {
      kind: 'reply';
      content: string | null;
      toolCalls: ModelToolCall[];
      tokens: TokenCounts;
      finishReason: string | null;
    }
  | { kind: 'aborted' }
  /** The endpoint said the prompt does not fit the model's context; `tokens` when it said how big it was. */
  | { kind: 'overflow'; message: string; window?: number; tokens?: number };

/** The tool list as sent: fixed, so it is part of every request's cached prefix. */
export const TOOL_DEFINITIONS = ALL_TOOLS.map((tool) => tool.definition);

/**
 * Parameters a model's entry in `patchbay.yml` adds to each request, by the name the endpoint knows
 * them under, with the entry's key that sets them (named when an endpoint rejects one).
 */
const ENTRY_PARAMETERS = [
  ['reasoning_effort', 'reasoning_effort'],
  ['max_completion_tokens', 'max_output_tokens'],
] as const;

/**
 * One Chat Completions call with the six tools (`toolChoice: 'none'` asks for text only, keeping the
 * tool list so the request shares the cached prefix). The SDK retries connection errors,
 * 408/409/429 and 5xx itself (`maxRetries` is set by whoever builds the client); what still fails
 * becomes a `model_error`, permanent when retrying cannot help (bad key, unknown model, a rejected
 * request or parameter). "Context length exceeded" is no error here: the loop compacts and retries.
 */
export async function callModel(
  openai: OpenAI,
  model: ModelSpec,
  messages: ChatMessage[],
  signal: AbortSignal,
  opts: { toolChoice?: 'auto' | 'none' } = {},
): Promise<ModelReply> {
  let raw: unknown;
  try {
    raw = await openai.chat.completions.create(
      {
        model: model.name,
        messages,
        tools: TOOL_DEFINITIONS,
        tool_choice: opts.toolChoice ?? 'auto',
        ...(model.reasoningEffort ? { reasoning_effort: model.reasoningEffort } : {}),
        ...(model.maxOutputTokens ? { max_completion_tokens: model.maxOutputTokens } : {}),
      },
      { signal },
    );
  } catch (err) {
    if (signal.aborted || err instanceof APIUserAbortError) return { kind: 'aborted' };
    const overflow = asOverflow(err);
    if (overflow) return overflow;
    throw rejectedParameter(err, model) ?? toModelError(err);
  }
  const parsed = Completion.safeParse(raw);
  if (!parsed.success) {
    throw new PatchbayError(
      'model_error',
      'The model endpoint sent a response that is not a chat completion.',
      {
        hint: 'Check that OPENAI_BASE_URL points at an OpenAI-compatible /v1 endpoint.',
      },
    );
  }
  return toReply(parsed.data);
}

function toReply(completion: z.infer<typeof Completion>): ModelReply {
  const choice = completion.choices[0];
  const usage = completion.usage;
  return {
    kind: 'reply',
    content: choice?.message.content ?? null,
    toolCalls: (choice?.message.tool_calls ?? []).map((call) => ({
      id: call.id,
      name: call.function.name,
      arguments: call.function.arguments,
    })),
    finishReason: choice?.finish_reason ?? null,
    tokens: {
      promptTokens: usage?.prompt_tokens ?? 0,
      cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
      completionTokens: usage?.completion_tokens ?? 0,
    },
  };
}

const OVERFLOW =
  /context[ _-]?(length|window|size)|maximum context|too many tokens|prompt is too long|input is too long|exceeds? the (model's )?(max|context)/i;

/**
 * "Context length exceeded", as OpenAI (`context_length_exceeded`), vLLM, llama.cpp, Ollama and
 * others say it: a 400 (or 413) with such a code or message. The token counts the message gives
 * ("your messages resulted in 17,021 tokens"), when it gives any, tell the loop how far off it was.
 */
function asOverflow(err: unknown): Extract<ModelReply, { kind: 'overflow' }> | undefined {
  if (!(err instanceof APIError) || (err.status !== 400 && err.status !== 413)) return undefined;
  const message = err.message ?? '';
  if (err.code !== 'context_length_exceeded' && !OVERFLOW.test(message)) return undefined;
  const counts = [...message.matchAll(/(\d[\d,]*)\s*(?:input )?tokens/gi)].map((m) =>
    Number((m[1] ?? '').replaceAll(',', '')),
  );
  // "maximum context length is 16384 tokens. However, you requested 17021 tokens": window, then size.
  if (counts.length < 2) return { kind: 'overflow', message: message.slice(0, 500) };
  const [window, ...rest] = counts;
  const tokens = Math.max(...rest);
  return { kind: 'overflow', message: message.slice(0, 500), window, tokens };
}

/**
 * A 400/422 that names a parameter the model's entry added: permanent, naming the parameter and the
 * key of `patchbay.yml` that sets it, since every retry would be refused the same way.
 */
function rejectedParameter(err: unknown, model: ModelSpec): PatchbayError | undefined {
  if (!(err instanceof APIError) || (err.status !== 400 && err.status !== 422)) return undefined;
  const sent = ENTRY_PARAMETERS.filter(([param]) =>
    param === 'reasoning_effort' ? model.reasoningEffort : model.maxOutputTokens,
  );
  const found = sent.find(([param]) => err.param === param || (err.message ?? '').includes(param));
  if (!found) return undefined;
  const [param, key] = found;
  return new PatchbayError(
    'model_error',
    `The model endpoint rejected the parameter ${param} for ${model.name}: ${err.message}`,
    {
      cause: err,
      permanent: true,
      hint: `Remove \`${key}\` from the entry of ${model.name} under \`models:\` in patchbay.yml, or choose a model whose endpoint supports ${param}.`,
    },
  );
}

/** Maps an SDK error to a coded error; the endpoint's own message is kept, never the request. */
export function toModelError(err: unknown): PatchbayError {
  if (err instanceof APIConnectionError) {
    return new PatchbayError('model_error', 'Could not reach the model endpoint.', { cause: err });
  }
  if (!(err instanceof APIError) || typeof err.status !== 'number') {
    return new PatchbayError('model_error', 'The model endpoint sent an unreadable response.', {
      cause: err,
    });
  }
  const status = err.status;
  const message = `The model endpoint answered ${status}: ${err.message}`;
  if (status === 401 || status === 403) {
    return new PatchbayError('model_error', message, {
      cause: err,
      permanent: true,
      hint: 'Check OPENAI_API_KEY (and OPENAI_BASE_URL when using another provider).',
    });
  }
  if (status === 404) {
    return new PatchbayError('model_error', message, {
      cause: err,
      permanent: true,
      hint: 'Check that the model (PATCHBAY_MODEL, or the name under `models:`) is one this endpoint serves, and OPENAI_BASE_URL ends in /v1.',
    });
  }
  if (status === 429 && err.code === 'insufficient_quota') {
    return new PatchbayError('model_error', message, {
      cause: err,
      permanent: true,
      hint: "The model account is out of quota; add credit or raise the provider's limit.",
    });
  }
  if (status === 408 || status === 409 || status === 429 || status >= 500) {
    return new PatchbayError('model_error', message, { cause: err });
  }
  return new PatchbayError('model_error', message, {
    cause: err,
    permanent: true,
    hint: 'The endpoint refused the request; check that the model supports function tools.',
  });
}
