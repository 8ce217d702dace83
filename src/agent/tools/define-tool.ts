import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import type { z } from 'zod';
import { describeIssues } from '../../lib/zod-issues.js';
import type { Sandbox } from '../../sandbox/types.js';
import { resolveRepoPath } from '../resolve-repo-path.js';

/** What a tool may use. File tools act on `workdir` on the host; `bash` goes through the sandbox. */
export interface ToolContext {
  workdir: string;
  sandbox: Sandbox;
  readOnlyPaths: string[];
  signal: AbortSignal;
  /** The longest a command may run: the configured cap, lowered to the time budget left. */
  maxCommandMs: number;
}

/** A tool's effect on the loop: a result for the model, or the end of the run. */
export type ToolEffect =
  /** `failed`: the tool could not do what was asked (a refused path, no match); not a non-zero exit. */
  | { kind: 'result'; text: string; failed?: boolean }
  | { kind: 'finish'; title: string; summary: string }
  | { kind: 'ask'; question: string };

/** A strict-mode JSON schema: every property listed in `required`, optional ones nullable. */
export interface StrictObjectSchema {
  type: 'object';
  properties: Record<string, { type: string | string[]; description: string }>;
  required: string[];
  additionalProperties: false;
}

export type ParsedCall =
  | { ok: true; detail: string; run: (ctx: ToolContext) => Promise<ToolEffect> }
  | { ok: false; error: string };

export interface AgentTool {
  name: string;
  definition: ChatCompletionFunctionTool;
  /** Checks the model's arguments; an error here is a malformed call the model can correct. */
  parse(args: unknown): ParsedCall;
}

interface ToolSpec<A> {
  name: string;
  description: string;
  parameters: StrictObjectSchema;
  args: z.ZodType<A>;
  /** One line for progress displays (`bash: npm test`); never output. */
  describe(args: A): string;
  run(args: A, ctx: ToolContext): Promise<ToolEffect>;
}

/** Pairs a tool's JSON schema (sent to the model) with its zod schema (checked on every call). */
export function defineTool<A>(spec: ToolSpec<A>): AgentTool {
  return {
    name: spec.name,
    definition: {
      type: 'function',
      function: {
        name: spec.name,
        description: spec.description,
        parameters: { ...spec.parameters },
        strict: true,
      },
    },
    parse(raw) {
      const parsed = spec.args.safeParse(raw);
      if (!parsed.success) {
        const issues = describeIssues(parsed.error, { root: '(arguments)' });
        return { ok: false, error: `Invalid arguments for ${spec.name}: ${issues.join('; ')}` };
      }
      const args = parsed.data;
      return {
        ok: true,
        detail: oneLine(`${spec.name}: ${spec.describe(args)}`),
        run: (ctx) => spec.run(args, ctx),
      };
    },
  };
}

export function result(text: string): ToolEffect {
  return { kind: 'result', text };
}

/** A result telling the model why the tool could not do what it asked. */
export function refusal(text: string): ToolEffect {
  return { kind: 'result', text, failed: true };
}

/** An error whose message is meant for the model as it is (a file too large to read, a binary file). */
export class ToolRefusal extends Error {}

/**
 * Runs a file tool's work on `path` inside the repository: a refused path, a ToolRefusal or a
 * file-system error becomes a result the model can correct, never an exception of the loop.
 */
export async function onRepoFile(
  ctx: ToolContext,
  path: string,
  work: (abs: string) => Promise<ToolEffect>,
): Promise<ToolEffect> {
  const resolved = await resolveRepoPath(ctx.workdir, path);
  if (!resolved.ok) return refusal(resolved.error);
  try {
    return await work(resolved.abs);
  } catch (err) {
    return refusal(err instanceof ToolRefusal ? err.message : describeFsError(err, path));
  }
}

/** Turns a file-system error into a sentence for the model, without host paths. */
export function describeFsError(err: unknown, rel: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `${rel} does not exist.`;
  if (code === 'EISDIR') return `${rel} is a directory; use bash (ls) to list it.`;
  if (code === 'ENOTDIR') return `A part of ${rel} is a file, not a directory.`;
  if (code === 'EACCES' || code === 'EPERM') return `Permission denied for ${rel}.`;
  if (code === 'ELOOP') return `${rel} is a symlink loop or a symlink where none is allowed.`;
  return `Could not access ${rel} (${code ?? 'error'}).`;
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}
