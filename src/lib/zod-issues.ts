import type { z } from 'zod';

/**
 * zod's issues as `path: message` phrases for a person (`repo: expected "owner/name"`), `root` naming
 * an issue about the whole value. With `hideValues`, whatever zod echoes of the value received is
 * left out (environment values can be secrets).
 */
export function describeIssues(error: z.ZodError, opts: { root: string; hideValues?: boolean }): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.length ? issue.path.join('.') : opts.root;
    const message = opts.hideValues ? issue.message.replace(/received .*/i, '').trim() : issue.message;
    return `${where}: ${message}`;
  });
}
