import { constants } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { defineTool, onRepoFile, result } from './define-tool.js';

const Args = z.object({ path: z.string(), content: z.string() });

/**
 * `write_file`: creates a file (and its missing parent directories) or replaces it whole, at a path
 * relative to the repository root. For small changes to an existing file `edit_file` is cheaper.
 */
export const writeFileTool = defineTool({
  name: 'write_file',
  description:
    'Create a file or replace its whole content; missing parent directories are created. ' +
    'Prefer edit_file for changing part of an existing file.',
  parameters: {
    type: 'object',
    properties: {
      path: { type: 'string', description: 'Path relative to the repository root.' },
      content: { type: 'string', description: 'The complete new content of the file.' },
    },
    required: ['path', 'content'],
    additionalProperties: false,
  },
  args: Args,
  describe: (args) => args.path,
  run: (args, ctx) =>
    onRepoFile(ctx, args.path, async (abs) => {
      const existed = await exists(abs);
      await writeNoFollow(abs, args.content);
      const bytes = Buffer.byteLength(args.content);
      return result(`${existed ? 'Replaced' : 'Created'} ${args.path} (${bytes} bytes).`);
    }),
});

/**
 * Writes to a path already resolved to its real location. O_NOFOLLOW refuses a symlink put in its
 * place since the check, so the write cannot be redirected outside the clone at the last moment.
 */
export async function writeNoFollow(abs: string, content: string): Promise<void> {
  await mkdir(path.dirname(abs), { recursive: true });
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
  const handle = await open(abs, flags, 0o644);
  try {
    await handle.writeFile(content, 'utf8');
  } finally {
    await handle.close();
  }
}

async function exists(abs: string): Promise<boolean> {
  try {
    await stat(abs);
    return true;
  } catch {
    return false;
  }
}
