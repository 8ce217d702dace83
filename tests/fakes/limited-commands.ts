/**
 * Runs commands in one task sandbox in a process of its own and prints each result as a JSON line,
 * `ready` first. The limits tests start it as another user (`setpriv --reuid`: the kernel never applies
 * RLIMIT_NPROC to root, and the path without cgroups is meant for a Patchbay that is not root), or
 * kill it with SIGKILL mid-command to leave a dead worker's cgroup for the start-up sweep.
 * Usage: tsx tests/fakes/limited-commands.ts '{"workdir", "limits", "commands", "cgroups": "auto"|"off"}'
 */
import { createSilentLogger } from '../../src/lib/logger.js';
import { createSandbox } from '../../src/sandbox/create-sandbox.js';
import { probeLimits } from '../../src/sandbox/probe-limits.js';
import type { TaskLimits } from '../../src/sandbox/types.js';

const input = JSON.parse(process.argv[2] ?? '{}') as {
  workdir: string;
  limits: TaskLimits;
  commands: string[];
  cgroups: 'auto' | 'off';
};
const log = createSilentLogger();
const probe = await probeLimits({ require: false, cgroups: input.cgroups, log });
const sandbox = createSandbox({ mode: 'bwrap', log, cgroups: probe.cgroups });
const task = await sandbox.openTask({ taskId: 'tchild', workdir: input.workdir, limits: input.limits });
process.stdout.write(`${JSON.stringify({ ready: true, enforcement: task.enforcement })}\n`);
for (const command of input.commands) {
  const result = await task.run({ command, workdir: input.workdir, network: 'none', timeoutMs: 60_000 });
  process.stdout.write(`${JSON.stringify({ ...result, output: result.output.slice(-2000) })}\n`);
}
await task.close();
await probe.cgroups?.close();
