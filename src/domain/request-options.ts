/**
 * What a requester may say in the text of a request besides the work itself: a model by name
 * (`model=<name>`) and a fresh start (`fresh:` at the start of a follow-up). Chat and tracker messages
 * carry them; the HTTP API has fields of its own for both.
 */

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$/;
const MODEL_KEY = /(^|[\s([,])model\s*=\s*([A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199})(?=$|[\s)\],.;!?])/i;
const MODEL_LABEL = /^patchbay:model=(.+)$/i;

/**
 * `fresh` as the first word, followed by punctuation or the end of a line (`fresh: redo it with
 * zod`, `fresh — …`), or `fresh start`: a plain sentence that begins with the word ("Fresh installs
 * fail on Windows") is no request for a fresh start.
 */
const FRESH = /^\s*fresh(?:\s+start)?\s*(?:[:,.!\u2014\u2013-]+(?=\s|$)|\r?\n|$)\s*/i;

/** Whether `name` can be a model's name at all (the list in `patchbay.yml` decides the rest). */
export function isModelName(name: string): boolean {
  return MODEL_NAME.test(name);
}

/** `model=<name>` in a message: the name, and the text without it. */
export function takeModelChoice(text: string): { model?: string; text: string } {
  const match = MODEL_KEY.exec(text);
  if (!match) return { text };
  const [whole, lead = ''] = match;
  let before = `${text.slice(0, match.index)}${lead}`;
  let after = text.slice(match.index + whole.length);
  // Close the gap where it stood: "a model=x b" → "a b", "a model=x, b" → "a, b".
  if (/[ \t]$/.test(before) && /^[ \t]/.test(after)) after = after.replace(/^[ \t]+/, '');
  if (/^[,.;!?]/.test(after)) before = before.replace(/[ \t]+$/, '');
  return { model: match[2], text: `${before}${after}`.trim() };
}

/** A `patchbay:model=<name>` label (Linear): the name; the first such label wins. */
export function modelFromLabels(labels: readonly string[]): string | undefined {
  for (const label of labels) {
    const name = MODEL_LABEL.exec(label.trim())?.[1]?.trim();
    if (name) return name;
  }
  return undefined;
}

/** `fresh: …` at the start of a message: true, and the text without it. */
export function takeFreshStart(text: string): { fresh: boolean; text: string } {
  const match = FRESH.exec(text);
  if (!match) return { fresh: false, text };
  return { fresh: true, text: text.slice(match[0].length).trim() };
}
