import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PatchbayError } from '../domain/errors.js';
import { createSilentLogger } from '../lib/logger.js';
import { createSandbox } from './create-sandbox.js';
import { findExecutable } from './find-executable.js';
import { SLIRP_DEVICE } from './internet-namespace.js';
import type { Sandbox, SandboxMode } from './types.js';

const PROBE_TIMEOUT_MS = 15_000;

const UNAVAILABLE_HINT =
  'Install the Debian package `bubblewrap`. In a container, allow user namespaces and a fresh /proc: run ' +
  'it with security_opt seccomp=unconfined, apparmor=unconfined and systempaths=unconfined (no privileged ' +
  'mode or extra capabilities needed). Or set PATCHBAY_SANDBOX=none explicitly to run without isolation.';

const NONE_WARNING =
  'PATCHBAY_SANDBOX=none: commands run directly on the host WITHOUT isolation. The agent can read and ' +
  "write anything Patchbay's user can and reach the host's services; only the environment is cleared. " +
  'Use this only on a disposable machine.';

export interface ProbeResult {
  mode: SandboxMode;
  description: string;
  warning?: string;
}

/**
 * Checks that bwrap exists and can actually create its namespaces here, by running a real sandboxed
 * `true`, and whether setup commands will get internet (slirp4netns). Throws PatchbayError
 * 'sandbox_unavailable' when mode is 'bwrap' and it cannot work. For mode 'none' returns a loud warning.
 */
export async function probeSandbox(opts: { mode: SandboxMode; bwrapPath?: string }): Promise<ProbeResult> {
  if (opts.mode === 'none') {
    return {
      mode: 'none',
      description: 'no sandbox: commands run on the host with a cleared environment',
      warning: NONE_WARNING,
    };
  }
  const bwrap = findExecutable(opts.bwrapPath ?? 'bwrap');
  if (!bwrap) {
    throw new PatchbayError(
      'sandbox_unavailable',
      `bubblewrap (${opts.bwrapPath ?? 'bwrap'}) is not installed`,
      {
        hint: UNAVAILABLE_HINT,
      },
    );
  }
  const sandbox = createSandbox({ mode: 'bwrap', log: createSilentLogger(), bwrapPath: bwrap });
  const workdir = await mkdtemp(path.join(tmpdir(), 'patchbay-probe-'));
  try {
    await checkNamespaces(sandbox, workdir, bwrap);
    const internet = await checkInternet(sandbox, workdir);
    const description = `bubblewrap ${await readVersion(bwrap)} (${bwrap}); ${internet.description}`;
    return internet.warning
      ? { mode: 'bwrap', description, warning: internet.warning }
      : { mode: 'bwrap', description };
  } finally {
    await rm(workdir, { recursive: true, force: true });
  }
}

async function checkNamespaces(sandbox: Sandbox, workdir: string, bwrap: string): Promise<void> {
  const result = await sandbox.run({
    command: 'true',
    workdir,
    network: 'none',
    timeoutMs: PROBE_TIMEOUT_MS,
  });
  if (result.exitCode === 0) return;
  const detail = result.output.trim() || (result.timedOut ? 'timed out' : `exit code ${result.exitCode}`);
  throw new PatchbayError(
    'sandbox_unavailable',
    `bubblewrap (${bwrap}) cannot create its sandbox here: ${detail}`,
    {
      hint: UNAVAILABLE_HINT,
    },
  );
}

/** Setup commands get internet only if the whole chain works; otherwise they run offline, said loudly. */
async function checkInternet(
  sandbox: Sandbox,
  workdir: string,
): Promise<{ description: string; warning?: string }> {
  const reason = missingInternetPieces();
  if (!reason) {
    const command = `ip route show default | grep -q ' dev ${SLIRP_DEVICE}'`;
    const result = await sandbox.run({ command, workdir, network: 'internet', timeoutMs: PROBE_TIMEOUT_MS });
    if (result.exitCode === 0) {
      return {
        description:
          "setup commands reach the internet through slirp4netns; the host's loopback, private and link-local ranges are blocked",
      };
    }
  }
  const why = reason ?? 'slirp4netns could not connect the sandbox';
  return {
    description: `setup commands run without network (${why})`,
    warning: `Setup commands will have no network and cannot download dependencies: ${why}. Install the Debian packages slirp4netns and iproute2 and make /dev/net/tun available.`,
  };
}

function missingInternetPieces(): string | undefined {
  const missing = ['unshare', 'ip', 'slirp4netns'].filter((name) => !findExecutable(name));
  if (missing.length > 0) return `missing ${missing.join(', ')}`;
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
    return undefined;
  } catch {
    return '/dev/net/tun is not accessible';
  }
}

async function readVersion(bwrap: string): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(bwrap, ['--version'], { timeout: 5000, env: {} });
    return stdout.trim().replace(/^bubblewrap\s*/, '') || 'unknown version';
  } catch {
    return 'unknown version';
  }
}
