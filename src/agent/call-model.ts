import type OpenAI from 'openai';
import { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { z } from 'zod';
import { PatchbayError } from '../domain/errors.js';
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
  | { kind: 'aborted' };

/**
 * One Chat Completions call with the six tools. The SDK retries connection errors, 408/409/429 and
 * 5xx itself (`maxRetries` is set by whoever builds the client); what still fails becomes a
 * `model_error`, permanent when retrying cannot help (bad key, unknown model, rejected request).
 */
export async function callModel(
  openai: OpenAI,
  model: string,
  messages: ChatMessage[],
  signal: AbortSignal,
): Promise<ModelReply> {
  let raw: unknown;
  try {
    raw = await openai.chat.completions.create(
      { model, messages, tools: ALL_TOOLS.map((tool) => tool.definition), tool_choice: 'auto' },
      { signal },
    );
  } catch (err) {
    if (signal.aborted || err instanceof APIUserAbortError) return { kind: 'aborted' };
    throw toModelError(err);
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
      hint: 'Check PATCHBAY_MODEL names a model this endpoint serves, and OPENAI_BASE_URL ends in /v1.',
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
