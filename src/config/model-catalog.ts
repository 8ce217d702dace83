import { PatchbayError } from '../domain/errors.js';
import { FALLBACK_MODEL, type ModelSpec, modelByName } from '../domain/model-spec.js';
import type { FileConfig, ModelEntry } from './file-schema.js';

/** The models tasks may run on, and the one they run on unless a request names another. */
export interface ModelCatalog {
  readonly default: ModelSpec;
  /** Every model a request may name, the default first. */
  readonly all: readonly ModelSpec[];
  /** The model of that name (exactly as listed), or undefined. */
  find(name: string): ModelSpec | undefined;
  /** The model a request asked for, or the default; an unknown name is refused with the list. */
  choose(name: string | undefined): ModelSpec;
  /** The names as people read them: `gpt-5-codex`, `qwen3-coder`. */
  describe(): string;
}

function toSpec(entry: ModelEntry, pricing: FileConfig['pricing']): ModelSpec {
  const known = modelByName(entry.name, entry.price ?? pricing[entry.name]);
  return {
    ...known,
    contextWindow: entry.context_window ?? known.contextWindow,
    maxOutputTokens: entry.max_output_tokens,
    reasoningEffort: entry.reasoning_effort,
  };
}

/**
 * `models:` of patchbay.yml resolved into specs. The default is PATCHBAY_MODEL (listed or not: an
 * unlisted one gets the table's window and the old `pricing:` entry), else the first entry, else
 * gpt-5-codex. A model's price is its entry's `price`, else its `pricing:` entry, else none.
 */
export function buildModelCatalog(
  file: Pick<FileConfig, 'models' | 'pricing'>,
  envModel: string | undefined,
): ModelCatalog {
  const listed = file.models.map((entry) => toSpec(entry, file.pricing));
  const defaultName = envModel ?? listed[0]?.name ?? FALLBACK_MODEL;
  const fallback =
    listed.find((m) => m.name === defaultName) ?? modelByName(defaultName, file.pricing[defaultName]);
  const all = [fallback, ...listed.filter((m) => m.name !== defaultName)];
  const find = (name: string) => all.find((m) => m.name === name);
  const describe = () => all.map((m) => `\`${m.name}\``).join(', ');
  return {
    default: fallback,
    all,
    find,
    describe,
    choose(name) {
      if (name === undefined) return fallback;
      const found = find(name);
      if (found) return found;
      throw new PatchbayError('invalid_request', `there is no model named "${name.slice(0, 200)}" here`, {
        hint: `choose one of ${describe()} (\`models:\` in patchbay.yml)`,
      });
    },
  };
}
