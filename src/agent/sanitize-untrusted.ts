/**
 * Untrusted text (requests, thread history, AGENTS.md, answers) goes into the prompt as data. Before it
 * does, three kinds of hiding places are removed: HTML comments (invisible when the issue or message
 * is rendered, visible to the model), zero-width and bidi control characters (they hide or reorder
 * text), and tags that would close the wrapper the text sits in.
 */

/** The tag every piece of untrusted text is wrapped in. */
export const UNTRUSTED_TAG = 'untrusted';

// U+200B–U+200F zero-width and LRM/RLM, U+202A–U+202E bidi embeddings and overrides, U+2060–U+2064
// word joiner and invisible operators, U+2066–U+2069 bidi isolates, U+FEFF byte-order mark.
// Plus soft hyphen, combining grapheme joiner, Arabic letter mark, Mongolian vowel separator, and the
// Unicode tag block (U+E0000–E007F), which can spell out hidden ASCII instructions ("ASCII smuggling").
const INVISIBLE =
  /[\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]|\u034F|[\u{E0000}-\u{E007F}]/gu;
// C0 controls except tab, newline and carriage return, plus DEL: never meaningful in a request.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;
// An unterminated comment hides everything after it when rendered, so it is cut to the end.
const HTML_COMMENT = /<!--[\s\S]*?(?:-->|$)/g;
// Opening or closing wrapper tags, with any spacing or case: `</untrusted>`, `< / UNTRUSTED foo>`.
const WRAPPER_TAG = new RegExp(`<(\\s*/?\\s*${UNTRUSTED_TAG})`, 'gi');

export function sanitizeUntrusted(text: string): string {
  return text
    .replace(INVISIBLE, '')
    .replace(CONTROL, '')
    .replace(HTML_COMMENT, '')
    .replace(WRAPPER_TAG, '&lt;$1');
}

/**
 * Sanitizes `text` and wraps it in `<untrusted source="…">` tags. `source` is ours, never user text.
 */
export function wrapUntrusted(source: string, text: string): string {
  return `<${UNTRUSTED_TAG} source="${source}">\n${sanitizeUntrusted(text)}\n</${UNTRUSTED_TAG}>`;
}
