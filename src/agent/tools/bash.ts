import { z } from 'zod';
import { truncateOutput } from '../truncate-output.js';
import { defineTool, result } from './define-tool.js';

const DEFAULT_TIMEOUT_S = 120;
/** Enough for a test run's log; the sandbox drops the rest and says how much. */
const MAX_OUTPUT_BYTES = 1024 * 1024;

const Args = z.object({
  command: z.string().trim().min(1, 'command must not be empty'),
  timeout_s: z.number().int().positive().nullish(),
});

/**
 * `bash`: runs one command with `bash -c` in a fresh sandboxed process at the repository root: no
 * network, no secrets, non-interactive, killed (with its process group) at the timeout. Nothing
 * persists between calls but the files. The result has the exit code and the output, long output cut
 * to its head and tail.
 */
export const bashTool = defineTool({
  name: 'bash',
  description:
    'Run a shell command with bash -c at the repository root, in a fresh non-interactive process with ' +
    'no network access. Nothing but files persists between calls (no cd, no exported variables). ' +
    'Returns the exit code and the combined stdout/stderr; long output keeps its head and tail.',
  parameters: {
    type: 'object',
    properties: {
      command: {
        type: 'string',
        description: 'The command, e.g. "npm test -- src/a.test.ts 2>&1 | tail -50".',
      },
      timeout_s: {
        type: ['integer', 'null'],
        description: `Seconds before the command is killed; null for the default (${DEFAULT_TIMEOUT_S}).`,
      },
    },
    required: ['command', 'timeout_s'],
    additionalProperties: false,
  },
  args: Args,
  describe: (args) => args.command,
  async run(args, ctx) {
    const timeoutMs = Math.min((args.timeout_s ?? DEFAULT_TIMEOUT_S) * 1000, ctx.maxCommandMs);
    const res = await ctx.sandbox.run({
      command: args.command,
      workdir: ctx.workdir,
      readOnlyPaths: ctx.readOnlyPaths,
      network: 'none',
      timeoutMs,
      maxOutputBytes: MAX_OUTPUT_BYTES,
      signal: ctx.signal,
    });
    return result(formatRun(res, timeoutMs));
  },
});

function formatRun(
  res: {
    exitCode: number | null;
    output: string;
    droppedBytes: number;
    timedOut: boolean;
    aborted: boolean;
    limit?: { message: string };
  },
  timeoutMs: number,
): string {
  const lines: string[] = [];
  // A task-wide limit (memory, processes, disk, /tmp) stopped it: the model must change course.
  if (res.limit) lines.push(res.limit.message);
  if (res.aborted) lines.push('The command was stopped because the run was cancelled.');
  else if (res.timedOut)
    lines.push(`Timed out after ${Math.round(timeoutMs / 1000)} s; the command was killed.`);
  lines.push(`exit code: ${res.exitCode ?? 'none (killed by a signal)'}`);
  // The sandbox already marks where it dropped the middle of a huge output, with its count.
  lines.push(res.output === '' ? '(no output)' : truncateOutput(res.output));
  return lines.join('\n');
}
