import { PatchbayError } from '../domain/errors.js';
import type { Logger } from '../lib/logger.js';
import type { CgroupTree } from './cgroup-tree.js';
import { findExecutable } from './find-executable.js';
import { type Launch, runInBwrap, runUnsandboxed } from './run-command.js';
import { detectSystemLayout, type SystemMount } from './system-layout.js';
import { openTaskSandbox } from './task-sandbox.js';
import type { SandboxHost, SandboxMode, SandboxRunResult } from './types.js';
import { type ValidRequest, validateRequest } from './validate-request.js';

export interface CreateSandboxOptions {
  mode: SandboxMode;
  log: Logger;
  /** bwrap's path or name (looked up in the system PATH); default 'bwrap'. */
  bwrapPath?: string;
  /**
   * Where task cgroups go (probeLimits' answer). Absent: no cgroups, and task sandboxes fall back to
   * rlimits per process and Patchbay's own watchdogs.
   */
  cgroups?: CgroupTree;
}

/**
 * The one way Patchbay runs a command. In 'bwrap' mode every run gets fresh namespaces, a read-only
 * system, the clone at /workspace and nothing else of the host; in 'none' mode (an explicit opt-out) it
 * still gets the allowlisted environment, the process-group deadline and the output cap, but no isolation.
 * A task's commands go through `openTask`, which adds the task's limits (see task-sandbox.ts).
 */
export function createSandbox(opts: CreateSandboxOptions): SandboxHost {
  const { mode, log } = opts;
  const bwrapPath = opts.bwrapPath ?? 'bwrap';
  // The host's layout does not change while Patchbay runs; looked at once.
  let system: SystemMount[] | undefined;

  function runValid(req: ValidRequest, launch?: Launch): Promise<SandboxRunResult> {
    if (mode === 'none') return runUnsandboxed(req, launch);
    system ??= detectSystemLayout();
    return runInBwrap(req, { bwrap: requireBwrap(bwrapPath), system, log }, launch);
  }

  return {
    mode,
    enforcement: opts.cgroups?.enforcement ?? 'rlimits',
    run: async (req) => runValid(validateRequest(req)),
    openTask: (task) =>
      openTaskSandbox({ mode, run: runValid, cgroups: opts.cgroups, du: findExecutable('du'), log }, task),
  };
}

function requireBwrap(bwrapPath: string): string {
  const found = findExecutable(bwrapPath);
  if (found) return found;
  throw new PatchbayError('sandbox_unavailable', `bubblewrap (${bwrapPath}) is not installed`, {
    hint: 'Install the Debian package `bubblewrap`, or set PATCHBAY_SANDBOX=none to run without isolation.',
  });
}
