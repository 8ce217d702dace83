import { open } from 'node:fs/promises';
import { z } from 'zod';
import { defineTool, onRepoFile, result, ToolRefusal } from './define-tool.js';

const MAX_LINES = 2_000;
const MAX_CHARS = 100_000;
/** Files larger than this are not loaded whole; the model should use bash (head, sed, grep). */
const MAX_FILE_BYTES = 10 * 1024 * 1024;

const Args = z.object({
  path: z.string(),
  start_line: z.number().int().positive().nullish(),
  end_line: z.number().int().positive().nullish(),
});

/**
 * `read_file`: returns a text file's lines, numbered from 1, for a path relative to the repository
 * root. At most 2,000 lines or 100,000 characters per call; the result says how to read on.
 */
export const readFileTool = defineTool({
  name: 'read_file',
  description:
    'Read a text file of the repository. Lines come numbered (the numbers are not part of the file). ' +
    `At most ${MAX_LINES} lines or ${MAX_CHARS} characters per call; use start_line/end_line to read more.`,
  parameters: {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'Path relative to the repository root, e.g. "src/index.ts".' },
      start_line: { type: ['integer', 'null'], description: 'First line to read (1-based); null for 1.' },
      end_line: {
        type: ['integer', 'null'],
        description: 'Last line to read (inclusive); null for the end.',
      },
    },
    required: ['path', 'start_line', 'end_line'],
    additionalProperties: false,
  },
  args: Args,
  describe: (args) => args.path,
  run: (args, ctx) =>
    onRepoFile(ctx, args.path, async (abs) => {
      const text = await readCapped(abs);
      return result(numberLines(text, args.path, args.start_line ?? 1, args.end_line ?? undefined));
    }),
});

async function readCapped(abs: string): Promise<string> {
  const handle = await open(abs, 'r');
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    if (info.size > MAX_FILE_BYTES) {
      throw new ToolRefusal(
        `The file has ${info.size} bytes, too large to read whole; use bash (sed -n, grep).`,
      );
    }
    const buf = await handle.readFile();
    if (buf.subarray(0, 8192).includes(0)) {
      throw new ToolRefusal(
        `The file looks binary (${buf.length} bytes); inspect it with bash (file, xxd | head).`,
      );
    }
    return buf.toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Lines `start`..`end` numbered like `cat -n`, capped, with a note on how to read on. */
export function numberLines(text: string, rel: string, start: number, end?: number): string {
  if (text === '') return `${rel} is empty.`;
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  const total = lines.length;
  if (start > total) return `${rel} has ${total} lines; start_line ${start} is past the end.`;
  const last = Math.min(end ?? total, total, start + MAX_LINES - 1);
  if (last < start) return `end_line ${end} is before start_line ${start}.`;
  const out: string[] = [];
  let chars = 0;
  let shown = start - 1;
  for (let n = start; n <= last; n++) {
    const line = `${String(n).padStart(6)}\t${lines[n - 1] ?? ''}`;
    if (chars + line.length > MAX_CHARS && out.length > 0) break;
    out.push(line.length > MAX_CHARS ? `${line.slice(0, MAX_CHARS)} [line cut]` : line);
    chars += line.length + 1;
    shown = n;
  }
  if (shown < Math.min(end ?? total, total)) {
    out.push(
      `[showing lines ${start}–${shown} of ${total}; call read_file with start_line ${shown + 1} to read on]`,
    );
  }
  return out.join('\n');
}
