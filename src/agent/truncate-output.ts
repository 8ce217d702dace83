export interface TruncateOptions {
  headChars?: number;
  tailChars?: number;
}

/**
 * Keeps the head and the tail of long tool output and says how much was cut between them: the start
 * of a log shows what ran, the end shows how it failed.
 */
export function truncateOutput(text: string, opts: TruncateOptions = {}): string {
  const headChars = opts.headChars ?? 5_000;
  const tailChars = opts.tailChars ?? 5_000;
  if (text.length <= headChars + tailChars) return text;
  let headEnd = headChars;
  let tailStart = text.length - tailChars;
  // Never split a surrogate pair: a lone half is not valid text for the model.
  if (isHighSurrogate(text.charCodeAt(headEnd - 1))) headEnd -= 1;
  if (isLowSurrogate(text.charCodeAt(tailStart))) tailStart += 1;
  const cut = tailStart - headEnd;
  return `${text.slice(0, headEnd)}\n[… ${cut} characters cut …]\n${text.slice(tailStart)}`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
