import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PatchbayError } from '../domain/errors.js';
import type { Logger } from '../lib/logger.js';
import { buildBwrapArgs, buildShellArgv, SANDBOX_HOME } from './bwrap-args.js';
import { connectInternet } from './connect-internet.js';
import { findExecutable } from './find-executable.js';
import {
  buildBlockedRoutes,
  buildNamespaceArgv,
  buildRouteBatch,
  listHostAddresses,
  RESOLV_CONF_FD,
} from './internet-namespace.js';
import { runProcess } from './run-process.js';
import { buildSandboxEnv } from './sandbox-env.js';
import { detectSystemLayout, type SystemMount } from './system-layout.js';
import type { Sandbox, SandboxMode, SandboxRunRequest, SandboxRunResult } from './types.js';
import { type ValidRequest, validateRequest } from './validate-request.js';

export interface CreateSandboxOptions {
  mode: SandboxMode;
  log: Logger;
  /** bwrap's path or name (looked up in the system PATH); default 'bwrap'. */
  bwrapPath?: string;
}

/**
 * The one way Patchbay runs a command. In 'bwrap' mode every run gets fresh namespaces, a read-only
 * system, the clone at /workspace and nothing else of the host; in 'none' mode (an explicit opt-out) it
 * still gets the allowlisted environment, the process-group deadline and the output cap, but no isolation.
 */
export function createSandbox(opts: CreateSandboxOptions): Sandbox {
  const { mode, log } = opts;
  const bwrapPath = opts.bwrapPath ?? 'bwrap';
  // The host's layout does not change while Patchbay runs; looked at once.
  let system: SystemMount[] | undefined;

  async function run(req: SandboxRunRequest): Promise<SandboxRunResult> {
    const valid = validateRequest(req);
    if (mode === 'none') return runUnsandboxed(valid);
    system ??= detectSystemLayout();
    return runInBwrap(valid, { bwrap: requireBwrap(bwrapPath), system, log });
  }

  return { mode, run };
}

function requireBwrap(bwrapPath: string): string {
  const found = findExecutable(bwrapPath);
  if (found) return found;
  throw new PatchbayError('sandbox_unavailable', `bubblewrap (${bwrapPath}) is not installed`, {
    hint: 'Install the Debian package `bubblewrap`, or set PATCHBAY_SANDBOX=none to run without isolation.',
  });
}

async function runUnsandboxed(req: ValidRequest): Promise<SandboxRunResult> {
  // A fresh, empty HOME per run: no host dotfiles (git credentials, npm tokens) are within reach.
  const home = await mkdtemp(path.join(tmpdir(), 'patchbay-home-'));
  try {
    const [file = '/bin/bash', ...args] = buildShellArgv(req.command);
    return await runProcess({ file, args, env: buildSandboxEnv(home, req.env), cwd: req.workdir }, req);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

interface BwrapDeps {
  bwrap: string;
  system: SystemMount[];
  log: Logger;
}

async function runInBwrap(req: ValidRequest, deps: BwrapDeps): Promise<SandboxRunResult> {
  const env = buildSandboxEnv(SANDBOX_HOME, req.env);
  const base = {
    command: req.command,
    workdir: req.workdir,
    readOnlyPaths: req.readOnlyPaths,
    system: deps.system,
  };
  const tools = {
    unshare: findExecutable('unshare'),
    ip: findExecutable('ip'),
    slirp: findExecutable('slirp4netns'),
  };
  if (req.network === 'internet' && (!tools.unshare || !tools.ip || !tools.slirp)) {
    const missing = Object.entries(tools).flatMap(([name, found]) => (found ? [] : [name]));
    deps.log.warn(
      { missing },
      'sandbox internet helpers missing, setup runs without network and cannot download',
    );
  }
  if (req.network === 'none' || !tools.unshare || !tools.ip || !tools.slirp) {
    const args = buildBwrapArgs({ ...base, network: 'isolated' });
    return runProcess({ file: deps.bwrap, args, env }, req);
  }
  const bwrapArgs = buildBwrapArgs({
    ...base,
    network: 'inherited',
    uid: process.getuid?.(),
    gid: process.getgid?.(),
    resolvConfFd: RESOLV_CONF_FD,
  });
  const routeBatch = buildRouteBatch(buildBlockedRoutes(listHostAddresses()));
  const argv = buildNamespaceArgv({
    unshare: tools.unshare,
    ip: tools.ip,
    routeBatch,
    bwrap: deps.bwrap,
    bwrapArgs,
  });
  const prepare = connectInternet({ slirp: tools.slirp, env, log: deps.log });
  return runProcess({ file: argv.file, args: argv.args, env, extraPipes: 2 }, req, prepare);
}
