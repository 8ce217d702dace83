/** USD per million tokens. `cached_input` defaults to `input` (no discount) when absent. */
export interface ModelPrice {
  input: number;
  cached_input?: number;
  output: number;
}

/** The values of Chat Completions' `reasoning_effort` that Patchbay passes on. */
export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const;
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

/**
 * One model a task may run on, resolved from `patchbay.yml`'s `models:` (and the old `pricing:`):
 * its name as the endpoint knows it, its context window in tokens, and what is sent with each request.
 */
export interface ModelSpec {
  name: string;
  contextWindow: number;
  /** Sent as `max_completion_tokens` when set; also the room kept free for the answer. */
  maxOutputTokens?: number;
  /** Sent as `reasoning_effort` when set. */
  reasoningEffort?: ReasoningEffort;
  /** Absent: the model has no price, so no cost limit (the other limits still hold). */
  price?: ModelPrice;
}

/** The model when neither PATCHBAY_MODEL nor `models:` names one. */
export const FALLBACK_MODEL = 'gpt-5-codex';

/** A window for a model the table below does not know: small enough for most self-hosted servers. */
export const UNKNOWN_CONTEXT_WINDOW = 32_768;

/**
 * Context windows (tokens) of models people use, by name prefix; the longest matching prefix wins and
 * a provider prefix (`openai/gpt-5`, `qwen/qwen3-coder`) is ignored. `context_window` in the model's
 * entry overrides it: a self-hosted server often serves less than the model could take (vLLM's
 * `--max-model-len`).
 */
const KNOWN_WINDOWS: ReadonlyArray<readonly [string, number]> = [
  ['gpt-5', 400_000],
  ['gpt-4.1', 1_047_576],
  ['gpt-4o', 128_000],
  ['gpt-oss', 131_072],
  ['o3', 200_000],
  ['o4-mini', 200_000],
  ['codex-mini', 200_000],
  ['claude', 200_000],
  ['gemini-2.5', 1_048_576],
  ['qwen3-coder', 262_144],
  ['qwen2.5-coder', 32_768],
  ['deepseek-v3', 128_000],
  ['deepseek-chat', 128_000],
  ['deepseek-r1', 128_000],
  ['devstral', 131_072],
  ['kimi-k2', 131_072],
  ['glm-4.5', 131_072],
  ['llama-3.1', 131_072],
  ['llama-3.3', 131_072],
  ['mistral-large', 131_072],
];

/** The window the table gives `name`, or undefined when it knows no prefix of it. */
export function knownContextWindow(name: string): number | undefined {
  const bare = (name.split('/').pop() ?? name).toLowerCase();
  let best: readonly [string, number] | undefined;
  for (const entry of KNOWN_WINDOWS) {
    if (bare.startsWith(entry[0]) && (!best || entry[0].length > best[0].length)) best = entry;
  }
  return best?.[1];
}

/** A model known only by name: its window from the table (or the small default), no price. */
export function modelByName(name: string, price?: ModelPrice): ModelSpec {
  return { name, contextWindow: knownContextWindow(name) ?? UNKNOWN_CONTEXT_WINDOW, price };
}
