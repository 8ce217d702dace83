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
  ws: TaskWorkspace;
  repo: RepositoryConfig;
  timeoutMs: number;
  signal: AbortSignal;
}

/** One configured command in the task's clone, in the sandbox, never with a secret. */
async function runInClone(
  opts: CommandsInClone,
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
  });
  if (result.aborted) throw new PatchbayError('cancelled', `stopped during ${stage}`);
  return result;
}

/**
 * Setup runs before the agent, in the sandbox with internet but no secrets and no host services. The
 * first failing command stops the task: the agent would only work on a broken checkout.
 */
export async function runSetup(opts: CommandsInClone): Promise<void> {
  for (const command of opts.repo.setup) {
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
      hint: `fix the command in patchbay.yml or the repository; its last output:\n${tail(result.output)}`,
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
