import { realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from '../lib/logger.js';
import { buildBwrapArgs, buildShellArgv, SANDBOX_HOME } from './bwrap-args.js';
import { buildCacheEnv, SANDBOX_CACHE } from './cache-env.js';
import { connectInternet } from './connect-internet.js';
import { findExecutable } from './find-executable.js';
import {
  buildBlockedRoutes,
  buildNamespaceArgv,
  buildRouteBatch,
  listHostAddresses,
  RESOLV_CONF_FD,
} from './internet-namespace.js';
import { buildLaunchArgv, buildRlimitPrelude } from './limit-launch.js';
import { buildForwarderPrelude, buildProxyEnv, PROXY_MOUNT, PROXY_NODE } from './proxy-forwarder.js';
import { type Prepare, type ProcessSpec, runProcess } from './run-process.js';
import { buildSandboxEnv } from './sandbox-env.js';
import type { SystemMount } from './system-layout.js';
import type { SandboxRunResult, TaskLimits } from './types.js';
import type { ValidRequest } from './validate-request.js';

/** The fd bwrap reports its sandbox's pid on: after the internet mode's handshake pipes (3, 4) and resolv.conf (5). */
const INFO_FD_ISOLATED = 3;
const INFO_FD_INTERNET = 6;
/** Without cgroups the sandbox yields the CPU to Patchbay and Redis: cpu.weight needs a cgroup. */
const FALLBACK_NICE = 10;

/** How a task's command starts: in its cgroup, under its rlimits, with sized scratch space. */
export interface Launch {
  /** `cgroup.procs` files the launcher joins before anything runs (none without cgroups). */
  joinFiles: readonly string[];
  limits: TaskLimits;
  /** Told the pid of a process inside the sandbox once bwrap has made it. */
  onSandboxPid(pid: number): void;
}

export interface RunDeps {
  bwrap: string;
  system: SystemMount[];
  log: Logger;
}

/** 'none' mode: the allowlisted environment, the deadline and the output cap; a task's limits still apply. */
export async function runUnsandboxed(req: ValidRequest, launch?: Launch): Promise<SandboxRunResult> {
  // A fresh, empty HOME per run: no host dotfiles (git credentials, npm tokens) are within reach.
  const home = await mkdtemp(path.join(tmpdir(), 'patchbay-home-'));
  try {
    const prelude = launch ? rlimitsFor(launch, false) : '';
    const [file = '/bin/bash', ...args] = buildShellArgv(req.command, prelude);
    const spec = { file, args, env: buildSandboxEnv(home, envOf(req, req.cache?.dir)), cwd: req.workdir };
    return await runProcess(launch ? launched(spec, launch) : spec, req);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

export async function runInBwrap(
  req: ValidRequest,
  deps: RunDeps,
  launch?: Launch,
): Promise<SandboxRunResult> {
  const proxied = req.network === 'proxy' && req.proxyDir !== undefined;
  const own = envOf(req, SANDBOX_CACHE);
  const env = buildSandboxEnv(SANDBOX_HOME, proxied ? { ...own, ...buildProxyEnv() } : own);
  const prelude = [proxied ? buildForwarderPrelude() : '', launch ? rlimitsFor(launch, true) : '']
    .filter(Boolean)
    .join('; ');
  const base = {
    command: req.command,
    workdir: req.workdir,
    readOnlyPaths: req.readOnlyPaths,
    cache: req.cache,
    system: deps.system,
    ...(proxied ? { mounts: proxyMounts(req.proxyDir as string) } : {}),
    ...(prelude ? { prelude } : {}),
    ...(launch ? { scratchBytes: launch.limits.tmpBytes } : {}),
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
  if (req.network !== 'internet' || !tools.unshare || !tools.ip || !tools.slirp) {
    const infoFd = launch ? INFO_FD_ISOLATED : undefined;
    const args = buildBwrapArgs({ ...base, network: 'isolated', infoFd });
    const spec = { file: deps.bwrap, args, env, extraPipes: launch ? 1 : 0 };
    if (!launch) return runProcess(spec, req);
    return runProcess(launched(spec, launch), req, watchInfo(INFO_FD_ISOLATED, launch));
  }
  const bwrapArgs = buildBwrapArgs({
    ...base,
    network: 'inherited',
    uid: process.getuid?.(),
    gid: process.getgid?.(),
    resolvConfFd: RESOLV_CONF_FD,
    infoFd: launch ? INFO_FD_INTERNET : undefined,
  });
  const routeBatch = buildRouteBatch(buildBlockedRoutes(listHostAddresses()));
  const argv = buildNamespaceArgv({
    unshare: tools.unshare,
    ip: tools.ip,
    routeBatch,
    bwrap: deps.bwrap,
    bwrapArgs,
  });
  const connect = connectInternet({ slirp: tools.slirp, env, log: deps.log });
  // fd 5 is replaced by resolv.conf in the namespace script before bwrap starts; bwrap's info goes to 6.
  const spec = { file: argv.file, args: argv.args, env, extraPipes: launch ? 4 : 2 };
  if (!launch) return runProcess(spec, req, connect);
  const info = watchInfo(INFO_FD_INTERNET, launch);
  const prepare: Prepare = async (child, stopped) => {
    await info(child, stopped);
    return connect(child, stopped);
  };
  return runProcess(launched(spec, launch), req, prepare);
}

/** The request's variables over the cache's: a repository's setup_env may name its own cache. */
function envOf(req: ValidRequest, cacheRoot: string | undefined): Record<string, string> {
  if (!req.cache || !cacheRoot) return req.env;
  return { ...buildCacheEnv(cacheRoot), ...req.env };
}

/**
 * The proxy's directory (socket, forwarder) and the node that runs the forwarder, each read-only at a
 * fixed path: the sandbox's network namespace stays empty, and the socket is its only way out.
 */
function proxyMounts(proxyDir: string): Array<{ source: string; target: string }> {
  return [
    { source: proxyDir, target: PROXY_MOUNT },
    { source: realpathSync(process.execPath), target: PROXY_NODE },
  ];
}

function rlimitsFor(launch: Launch, ownUserNamespace: boolean): string {
  return buildRlimitPrelude(launch.limits, { cgroups: launch.joinFiles.length > 0, ownUserNamespace });
}

function launched(spec: ProcessSpec, launch: Launch): ProcessSpec {
  const nicePath = launch.joinFiles.length === 0 ? findExecutable('nice') : undefined;
  const argv = buildLaunchArgv({
    joinFiles: launch.joinFiles,
    nice: nicePath ? { path: nicePath, level: FALLBACK_NICE } : undefined,
    file: spec.file,
    args: spec.args,
  });
  return { ...spec, file: argv.file, args: argv.args };
}

/** Reads bwrap's `--info-fd` report as it comes; it never waits for the pipe to close. */
function watchInfo(fd: number, launch: Launch): Prepare {
  return async (child) => {
    const stream = child.stdio[fd] as Readable | null | undefined;
    let text = '';
    let done = false;
    stream?.on('data', (chunk: Buffer) => {
      if (done) return;
      text += chunk.toString('utf8');
      const match = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (match) launch.onSandboxPid(Number(match[1]));
      done = Boolean(match) || text.length > 4096;
    });
    return () => {};
  };
}
