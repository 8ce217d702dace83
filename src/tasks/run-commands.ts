import type { RepositoryConfig } from '../config/file-schema.js';
import { PatchbayError } from '../domain/errors.js';
import type { CheckResult } from '../domain/task.js';
import type { Sandbox, SandboxRunResult } from '../sandbox/types.js';
import type { TaskWorkspace } from '../workspace/types.js';
import { raiseHint } from './limited-attempt.js';

const TAIL_CHARS = 4_000;

const tail = (text: string) => (text.length > TAIL_CHARS ? `…${text.slice(-TAIL_CHARS)}` : text);

interface CommandsInClone {
  sandbox: Sandbox;
  ws: Pick<TaskWorkspace, 'dir' | 'mirrorDir'>;
  repo: RepositoryConfig;
  timeoutMs: number;
  signal: AbortSignal;
}

/** What setup and maintenance get besides the clone: the repository's setup_env and package cache. */
export interface SetupExtras {
  /** The repository's `setup_env` values from the host: setup and maintenance only, never the agent. */
  env?: Record<string, string>;
  cache?: { dir: string; writable: boolean };
  /** Removes the setup_env values (and any other secret) from what the command printed. */
  redact?: (text: string) => string;
}

/** One configured command in the task's clone, in the sandbox; setup_env only for setup and maintenance. */
async function runInClone(
  opts: CommandsInClone & SetupExtras,
  command: string,
  network: 'none' | 'internet',
  stage: string,
): Promise<SandboxRunResult> {
  const result = await opts.sandbox.run({
    command,
    workdir: opts.ws.dir,
    readOnlyPaths: [opts.ws.mirrorDir],
    network,
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cache ? { cache: opts.cache } : {}),
  });
  if (result.aborted) throw new PatchbayError('cancelled', `stopped during ${stage}`);
  return result;
}

/**
 * Setup (or maintenance: `commands`) runs before the agent, in the sandbox with internet but no host
 * services, and with no secret but the repository's setup_env. The first failing command stops the
 * task: the agent would only work on a broken checkout. Its output is redacted before it is told.
 */
export async function runSetup(
  opts: CommandsInClone & SetupExtras & { commands?: readonly string[] },
): Promise<void> {
  const redact = opts.redact ?? ((text: string) => text);
  for (const command of opts.commands ?? opts.repo.setup) {
    const result = await runInClone(opts, command, 'internet', 'setup');
    if (result.limit && result.exitCode !== 0) {
      throw new PatchbayError(
        'limit_exceeded',
        `setup command \`${command}\` was stopped: ${result.limit.message}`,
        {
          hint: raiseHint(result.limit.name, opts.repo.name),
        },
      );
    }
    if (result.exitCode === 0) continue;
    const how = result.timedOut
      ? `timed out after ${Math.round(opts.timeoutMs / 1000)} s`
      : `exited ${result.exitCode}`;
    throw new PatchbayError('setup_failed', `setup command \`${command}\` ${how}`, {
      hint: `fix the command in patchbay.yml or the repository; its last output:\n${tail(redact(result.output))}`,
    });
  }
}

/** Checks run after the agent without network; they never fail the task, their results go in the PR. */
export async function runChecks(opts: CommandsInClone): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const command of opts.repo.check) {
    const result = await runInClone(opts, command, 'none', 'checks');
    results.push({
      command,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      output: tail(result.output),
      durationMs: result.durationMs,
      ...(result.limit ? { limit: { name: result.limit.name, message: result.limit.message } } : {}),
    });
  }
  return results;
}
