import { execFile } from 'node:child_process';
import { setPriority } from 'node:os';

/** A git command that exited non-zero; stderr is kept for classifying the failure. */
export class GitError extends Error {
  readonly args: string[];
  readonly stderr: string;
  readonly stdout: string;
  readonly exitCode: number | string | null;

  constructor(args: string[], out: { stdout: string; stderr: string; code: number | string | null }) {
    super(`git ${args[0] ?? ''} failed (${String(out.code)}): ${out.stderr.trim().slice(0, 500)}`);
    this.name = 'GitError';
    this.args = args;
    this.stderr = out.stderr;
    this.stdout = out.stdout;
    this.exitCode = out.code;
  }
}

export interface RunGitOptions {
  cwd?: string;
  /** Extra variables on top of the clean base environment (auth headers, author identity). */
  env?: Record<string, string>;
  timeoutMs?: number;
  input?: string | Buffer;
  maxBuffer?: number;
  /**
   * Niceness for background work (pool refills) that competes with running agents for the CPU. Set
   * right after spawn, so a child git starts before that keeps the default; no `nice` binary needed.
   */
  niceness?: number;
  /** Aborting kills git at once (a cancelled task or a stopping worker must not wait for a fetch). */
  signal?: AbortSignal;
}

/** Where git runs: its own HOME, and the directories git is looked for in. */
export interface GitHost {
  home: string;
  /** The host's PATH as the composition root read it; default /usr/local/bin:/usr/bin:/bin. */
  searchPath?: string;
}

/**
 * The whole environment of every git process we start. Nothing of the host's environment is
 * inherited but the search path: a user's ~/.gitconfig, /etc/gitconfig, credential helpers or GIT_*
 * variables must not change what Patchbay does, and a missing credential must fail at once instead
 * of waiting on a prompt.
 */
export function baseGitEnv(host: GitHost): Record<string, string> {
  return {
    PATH: host.searchPath ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: host.home,
    LANG: 'C',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
  };
}

/**
 * Config given to one git process through GIT_CONFIG_COUNT/KEY/VALUE (git ≥ 2.31). Unlike `-c`, it
 * does not appear in argv (which /proc shows to every user) and unlike `git config`, it is never
 * written to disk, so an Authorization header can travel this way.
 */
export function configEnv(entries: Array<[string, string]>): Record<string, string> {
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(entries.length) };
  entries.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

function lowerPriority(pid: number, niceness: number): void {
  try {
    setPriority(pid, niceness);
  } catch {
    // The process may already have exited; a normal priority is only slower for others, never wrong.
  }
}

/** Runs `git <args>` with `execFile` (no shell) and resolves with its output, or rejects with GitError. */
export function runGit(host: GitHost, args: string[], opts: RunGitOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      {
        cwd: opts.cwd,
        env: { ...baseGitEnv(host), ...opts.env },
        timeout: opts.timeoutMs ?? 120_000,
        killSignal: 'SIGKILL',
        signal: opts.signal,
        maxBuffer: opts.maxBuffer ?? 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const code = (err as NodeJS.ErrnoException & { code?: number | string }).code ?? null;
        const killed = (err as { killed?: boolean }).killed ? `${stderr}\n(timed out)` : stderr;
        reject(new GitError(args, { stdout, stderr: killed || err.message, code }));
      },
    );
    // Most commands read no stdin and may exit before we close it: a broken pipe is not their failure.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input);
    if (opts.niceness !== undefined && child.pid !== undefined) lowerPriority(child.pid, opts.niceness);
  });
}
