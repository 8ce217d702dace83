import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { defineTool, onRepoFile, refusal, result } from './define-tool.js';
import { writeNoFollow } from './write-file.js';

const Args = z.object({
  path: z.string(),
  old_text: z.string().min(1, 'old_text must not be empty; use write_file to create a file'),
  new_text: z.string(),
});

/**
 * `edit_file`: replaces the one exact occurrence of `old_text` with `new_text`. No occurrence, or
 * several, is an error telling the model to copy the text exactly or include more context.
 */
export const editFileTool = defineTool({
  name: 'edit_file',
  description:
    'Replace one exact occurrence of old_text with new_text in a file. old_text must match the file ' +
    'character for character (whitespace included, without line numbers) and occur exactly once; ' +
    'include a few surrounding lines to make it unique.',
  parameters: {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'Path relative to the repository root.' },
      old_text: { type: 'string', description: 'The exact text to replace; must occur once in the file.' },
      new_text: { type: 'string', description: 'The text to put in its place (may be empty to delete).' },
    },
    required: ['path', 'old_text', 'new_text'],
    additionalProperties: false,
  },
  args: Args,
  describe: (args) => args.path,
  run: (args, ctx) =>
    onRepoFile(ctx, args.path, async (abs) => {
      const before = await readFile(abs, 'utf8');
      const edited = replaceOnce(before, args.old_text, args.new_text);
      if (!edited.ok) return refusal(`${args.path}: ${edited.error}`);
      await writeNoFollow(abs, edited.text);
      return result(`Edited ${args.path}: replaced 1 occurrence at line ${edited.line}.`);
    }),
});

export type ReplaceOnce = { ok: true; text: string; line: number } | { ok: false; error: string };

/** Replaces the single occurrence of `oldText`; plain slicing, so `$` in `newText` stays literal. */
export function replaceOnce(text: string, oldText: string, newText: string): ReplaceOnce {
  const first = text.indexOf(oldText);
  if (first === -1) {
    return {
      ok: false,
      error: 'old_text was not found. Read the file and copy the text exactly, whitespace included.',
    };
  }
  let count = 1;
  for (let at = text.indexOf(oldText, first + 1); at !== -1; at = text.indexOf(oldText, at + 1)) count++;
  if (count > 1) {
    return {
      ok: false,
      error: `old_text occurs ${count} times; include more surrounding lines so it occurs once.`,
    };
  }
  const line = text.slice(0, first).split('\n').length;
  return { ok: true, text: text.slice(0, first) + newText + text.slice(first + oldText.length), line };
}
