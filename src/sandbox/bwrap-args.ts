import { SANDBOX_CACHE } from './cache-env.js';
import type { SystemMount } from './system-layout.js';

export const SANDBOX_WORKSPACE = '/workspace';
export const SANDBOX_HOME = '/home/agent';
export const SANDBOX_HOSTNAME = 'patchbay-sandbox';

/**
 * The command line every run ends with: stderr joins stdout on one pipe so the output keeps its true
 * arrival order; descriptors above 2 that Patchbay's own parent may have leaked are closed (an inherited
 * socket would be a way out of every namespace); `prelude` (a task's rlimits) runs; then the request's
 * command runs as `bash -c <command>`.
 */
export function buildShellArgv(command: string, prelude = ''): string[] {
  const closeInherited =
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a JS template
    'for f in /proc/self/fd/*; do n=${f##*/}; if [ "$n" -gt 2 ]; then exec {n}>&-; fi; done';
  return [
    '/bin/bash',
    '-c',
    `exec 2>&1 && ${closeInherited}; ${prelude ? `${prelude}; ` : ''}exec /bin/bash -c "$1"`,
    'patchbay-sandbox',
    command,
  ];
}

export interface BwrapArgsInput {
  command: string;
  /** Host path bound read-write at /workspace. */
  workdir: string;
  readOnlyPaths: readonly string[];
  /** A repository's package cache, bound at SANDBOX_CACHE (read-write only when `writable`). */
  cache?: { dir: string; writable: boolean };
  system: readonly SystemMount[];
  /**
   * 'isolated': a fresh network namespace with only loopback. 'inherited': keep the namespace bwrap is
   * started in, which the internet mode prepared (slirp4netns, blocked routes) before starting it.
   */
  network: 'isolated' | 'inherited';
  /** In 'inherited' mode bwrap runs as root of an outer user namespace; these restore the real ids. */
  uid?: number;
  gid?: number;
  /** A file descriptor bwrap reads /etc/resolv.conf from (internet mode only). */
  resolvConfFd?: number;
  /**
   * A task's scratch space: /tmp, HOME and /dev/shm each a tmpfs of this many bytes, and the rest of
   * /dev read-only. Without it they are unbounded tmpfs (one-off runs such as the start-up probe).
   */
  scratchBytes?: number;
  /** Runs in the sandbox before the command (a task's rlimits); see buildShellArgv. */
  prelude?: string;
  /** bwrap writes `{"child-pid": N, …}` here: a process inside the sandbox, to measure it from the host. */
  infoFd?: number;
  /** Host paths mounted read-only at another path inside (the proxy's socket directory and node). */
  mounts?: ReadonlyArray<{ source: string; target: string }>;
}

/**
 * bubblewrap's arguments for one run. The sandbox's root is an empty tmpfs: only what is listed here
 * exists in it, so Patchbay's own files, other tasks' clones and the host's processes are simply absent.
 */
export function buildBwrapArgs(input: BwrapArgsInput): string[] {
  return [
    ...namespaceArgs(input),
    ...input.system.flatMap(mountArgs),
    ...(input.resolvConfFd === undefined
      ? []
      : ['--ro-bind-data', String(input.resolvConfFd), '/etc/resolv.conf']),
    ...['--proc', '/proc', '--dev', '/dev'],
    ...scratchArgs(input.scratchBytes),
    ...['--bind', input.workdir, SANDBOX_WORKSPACE],
    ...input.readOnlyPaths.flatMap((p) => ['--ro-bind', p, p]),
    ...(input.cache ? [input.cache.writable ? '--bind' : '--ro-bind', input.cache.dir, SANDBOX_CACHE] : []),
    ...(input.mounts ?? []).flatMap((m) => ['--ro-bind', m.source, m.target]),
    ...(input.infoFd === undefined ? [] : ['--info-fd', String(input.infoFd)]),
    // Last: the skeleton root (mount points) becomes read-only; /tmp, HOME and /workspace stay writable.
    ...['--remount-ro', '/', '--chdir', SANDBOX_WORKSPACE],
    '--',
    ...buildShellArgv(input.command, input.prelude),
  ];
}

/**
 * A tmpfs takes memory and, unsized, up to half of the host's. With a size (bwrap's `--size`, 0.8+)
 * each scratch file system refuses writes past it (ENOSPC), and /dev, whose tmpfs bwrap leaves
 * writable, becomes read-only (device nodes still work).
 */
function scratchArgs(bytes: number | undefined): string[] {
  if (bytes === undefined) return ['--tmpfs', '/tmp', '--tmpfs', SANDBOX_HOME];
  const size = ['--size', String(bytes)];
  return [
    ...[...size, '--tmpfs', '/dev/shm', '--remount-ro', '/dev'],
    ...[...size, '--tmpfs', '/tmp', ...size, '--tmpfs', SANDBOX_HOME],
  ];
}

function namespaceArgs(input: BwrapArgsInput): string[] {
  const args = ['--unshare-all', '--unshare-user'];
  if (input.network === 'inherited') args.push('--share-net');
  if (input.uid !== undefined) args.push('--uid', String(input.uid));
  if (input.gid !== undefined) args.push('--gid', String(input.gid));
  // --new-session: no TIOCSTI into a terminal. --cap-drop ALL: as root bwrap would otherwise keep caps.
  args.push('--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--hostname', SANDBOX_HOSTNAME);
  return args;
}

function mountArgs(mount: SystemMount): string[] {
  if (mount.kind === 'symlink') return ['--symlink', mount.target, mount.path];
  return ['--ro-bind', mount.path, mount.path];
}
