import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolveRepoPath } from './resolve-repo-path.js';

/** Codex's cap: repositories' agent notes are guidance, not a second prompt. */
export const AGENTS_MD_MAX_BYTES = 32 * 1024;

/**
 * Reads `AGENTS.md` at the repository root on the host, or undefined when there is none. A symlink is
 * followed only when it stays inside the clone and out of `.git`. Content past 32 KiB is cut, with a note saying so. The
 * text is untrusted: the prompt wraps and sanitizes it.
 */
export async function readAgentsMd(workdir: string): Promise<string | undefined> {
  const resolved = await resolveRepoPath(workdir, 'AGENTS.md');
  if (!resolved.ok) return undefined;
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(resolved.abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return undefined;
    const buf = Buffer.alloc(Math.min(info.size, AGENTS_MD_MAX_BYTES));
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    if (info.size <= AGENTS_MD_MAX_BYTES) return text;
    return `${text}\n[AGENTS.md cut at ${AGENTS_MD_MAX_BYTES} of ${info.size} bytes; read the rest with read_file if needed]`;
  } finally {
    await handle.close();
  }
}
