import { join } from 'node:path';
import { configEnv, type RunGitOptions } from './git.js';

/**
 * Command-level config for every host git process in a task clone or pool entry. The agent can write
 * the clone's `.git`; restoreClone rewrites its config, and these win over any value that slipped
 * through anyway, so that no command of the agent's choosing runs on the host. What cannot be switched
 * off here (a `filter.<name>.clean` driver, `include.path`, `url.*.insteadOf`: no wildcard exists)
 * checkCloneConfig refuses instead.
 */
export const CLONE_SAFE_CONFIG: ReadonlyArray<[string, string]> = [
  ['core.hooksPath', '/dev/null'],
  ['core.fsmonitor', 'false'],
  ['core.sshCommand', ''],
  ['core.pager', 'cat'],
  ['core.askPass', ''],
  ['core.attributesFile', '/dev/null'],
  // A reflog the agent turned into a symlink would otherwise be appended to wherever it points.
  ['core.logAllRefUpdates', 'false'],
  // An empty value clears the list of helpers read so far: no helper program runs.
  ['credential.helper', ''],
  // Only transports Patchbay uses: the remote over HTTP(S) and the mirror by path. ext:: runs commands.
  ['protocol.allow', 'never'],
  ['protocol.file.allow', 'always'],
  ['protocol.http.allow', 'always'],
  ['protocol.https.allow', 'always'],
  ['protocol.ext.allow', 'never'],
  ['submodule.recurse', 'false'],
  ['push.recurseSubmodules', 'no'],
  ['fetch.recurseSubmodules', 'false'],
];

/**
 * The environment of a host git process in the clone at `dir`. GIT_DIR, GIT_COMMON_DIR and
 * GIT_WORK_TREE pin the repository: git then ignores `.git/commondir`, `core.worktree` and a
 * `gitdir:` file, each of which would otherwise send it (and its config) to a directory the agent
 * chose. Replace refs are ignored so that `refs/replace/*` cannot swap the objects the host commits,
 * diffs or pushes. `extra` (remote settings, identity) comes on top; it must not repeat a key above.
 */
export function cloneGitEnv(
  dir: string,
  extra: Array<[string, string]> = [],
  vars: Record<string, string> = {},
): Record<string, string> {
  const gitDir = join(dir, '.git');
  return {
    ...vars,
    GIT_DIR: gitDir,
    GIT_COMMON_DIR: gitDir,
    GIT_WORK_TREE: dir,
    GIT_NO_REPLACE_OBJECTS: '1',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_ASKPASS: '/bin/false',
    SSH_ASKPASS: '/bin/false',
    ...configEnv([...CLONE_SAFE_CONFIG, ...extra]),
  };
}

/** runGit options for a local command in the clone at `dir`. */
export function cloneGitOptions(
  dir: string,
  timeoutMs: number,
  opts: { extra?: Array<[string, string]>; vars?: Record<string, string> } = {},
): RunGitOptions & { cwd: string; env: Record<string, string> } {
  return { cwd: dir, env: cloneGitEnv(dir, opts.extra, opts.vars), timeoutMs };
}
