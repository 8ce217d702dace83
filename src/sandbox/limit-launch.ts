import type { TaskLimits } from './types.js';

/** The launcher's exit code when it could not put itself in the task's cgroup: nothing ran. */
export const LAUNCH_FAILED_EXIT = 125;
export const LAUNCH_FAILED_MARK = 'patchbay-launch: cannot join';

/**
 * The first program of every task command, on the host. It writes its own pid into each of the task
 * cgroup's `cgroup.procs` files and only then execs the rest (bwrap, or unshare for setup's network).
 * Joining before the exec is what makes placement race-free: the pid that joins is the one that
 * becomes bwrap, and it has not forked yet, so every process of the command is born in the group;
 * no child can run even briefly outside it. It also offers itself to the OOM killer first
 * (oom_score_adj 1000, which anyone may raise), so that memory pressure beyond the cgroups (or
 * without them) takes a sandboxed command before Patchbay or Redis.
 * Arguments, never spliced into the script: $1 the count of files, the files, then the argv to exec.
 */
export const LAUNCH_SCRIPT = [
  'n="$1"; shift',
  'while [ "$n" -gt 0 ]; do',
  `  echo $$ > "$1" || { echo "${LAUNCH_FAILED_MARK} $1" >&2; exit ${LAUNCH_FAILED_EXIT}; }`,
  '  shift; n=$((n - 1))',
  'done',
  'echo 1000 > /proc/self/oom_score_adj 2>/dev/null',
  'exec "$@"',
].join('\n');

export interface LaunchInput {
  /** `cgroup.procs` files to join (none without cgroups). */
  joinFiles: readonly string[];
  /** `nice` and its level, prepended without cgroups, where cpu.weight cannot share the CPU. */
  nice?: { path: string; level: number };
  file: string;
  args: readonly string[];
}

export function buildLaunchArgv(input: LaunchInput): { file: string; args: string[] } {
  const nice = input.nice ? [input.nice.path, '-n', String(input.nice.level)] : [];
  return {
    file: '/bin/sh',
    args: [
      '-c',
      LAUNCH_SCRIPT,
      'patchbay-launch',
      String(input.joinFiles.length),
      ...input.joinFiles,
      ...nice,
      input.file,
      ...input.args,
    ],
  };
}

/**
 * rlimits set by the sandbox's shell just before the command, so that they hold for it and for all
 * it starts: no core files (a crashing process must not dump gigabytes), no file larger than the disk
 * limit (one `yes > log` is stopped by the kernel at once, not by the next disk reading). Without
 * cgroups, also the address space of each process (memory_mb) and the processes of its user:
 * RLIMIT_NPROC counts per user *namespace* on Linux 5.14+ (ucounts), and bwrap gives every command its
 * own, so `ulimit -u` bounds this command's processes, not the host user's. The kernel never applies
 * RLIMIT_NPROC to uid 0, so a root Patchbay without cgroups gets no process limit (start-up says so).
 * A limit the host already set lower stays (the `ulimit` fails quietly).
 */
export function buildRlimitPrelude(
  limits: TaskLimits,
  opts: { cgroups: boolean; ownUserNamespace: boolean },
): string {
  const kib = (bytes: number) => Math.max(1, Math.floor(bytes / 1024));
  const lines = ['ulimit -c 0', `ulimit -f ${kib(limits.diskBytes)}`];
  if (!opts.cgroups) {
    lines.push(`ulimit -v ${kib(limits.memoryBytes)}`);
    if (opts.ownUserNamespace) lines.push(`ulimit -u ${limits.processes}`);
  }
  return `{ ${lines.join('; ')}; } 2>/dev/null`;
}
