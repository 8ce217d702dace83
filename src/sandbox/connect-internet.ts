import { type ChildProcess, spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../lib/logger.js';
import { SLIRP_DEVICE } from './internet-namespace.js';
import type { Prepare } from './run-process.js';

/** slirp4netns normally attaches in milliseconds; past this the run goes on without network. */
const SLIRP_READY_TIMEOUT_MS = 10_000;

export interface ConnectInternetDeps {
  /** Absolute path of slirp4netns, or undefined when it is not installed. */
  slirp: string | undefined;
  env: Record<string, string>;
  log: Logger;
}

/**
 * The handshake with NAMESPACE_SCRIPT: wait until its namespace exists and the prohibit routes are in,
 * attach slirp4netns to it, then let bwrap start. Whatever fails, the command still runs, but in a
 * namespace with no way out (the safe default), and the reason is logged: setup then cannot download.
 */
export function connectInternet(deps: ConnectInternetDeps): Prepare {
  return async (child, stopped) => {
    const release = () => (child.stdio[4] as Writable | null)?.end('go\n');
    const status = (await readToEnd(child.stdio[3] as Readable | null, stopped)).trim();
    const pid = child.pid;
    if (stopped.aborted || pid === undefined) return () => {};
    const refusal = checkReady(status, pid, deps.slirp);
    if (refusal || !deps.slirp) {
      deps.log.warn({ reason: refusal }, 'sandbox internet unavailable, running without network');
      release();
      return () => {};
    }
    const slirp = await startSlirp(deps.slirp, pid, deps.env, stopped);
    if (!slirp.ok) deps.log.warn({ reason: slirp.error }, 'slirp4netns failed, running without network');
    release();
    return () => slirp.stop();
  };
}

function checkReady(status: string, pid: number, slirp: string | undefined): string | undefined {
  if (!slirp) return 'slirp4netns is not installed';
  if (status !== 'ok') return status || 'the namespace script ended early';
  // Invariant: slirp4netns must never configure the host's own namespace (as root it could).
  if (readNetns(pid) === readNetns(process.pid)) return 'the sandbox is not in its own network namespace';
  return undefined;
}

function readNetns(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return 'gone';
  }
}

interface Slirp {
  ok: boolean;
  error?: string;
  stop(): void;
}

/**
 * Starts slirp4netns on the sandbox's namespace: `--configure` sets up tap0, 10.0.2.100 and the default
 * route; `--disable-host-loopback` refuses connections to the host's 127.0.0.0/8 through 10.0.2.2; the
 * exit fd ends it if Patchbay dies. Not `--enable-sandbox`: it breaks the built-in DNS forwarder.
 */
async function startSlirp(
  file: string,
  pid: number,
  env: Record<string, string>,
  stopped: AbortSignal,
): Promise<Slirp> {
  const args = ['--configure', '--mtu=65520', '--disable-host-loopback', '--enable-seccomp', '--ready-fd=3'];
  args.push(
    '--exit-fd=4',
    `--userns-path=/proc/${pid}/ns/user`,
    '--netns-type=path',
    `/proc/${pid}/ns/net`,
    SLIRP_DEVICE,
  );
  const proc = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2000);
  });
  const stop = () => {
    (proc.stdio[4] as Writable | null)?.destroy();
    proc.kill('SIGKILL');
  };
  const ready = await waitForSlirp(proc, stopped);
  if (ready) return { ok: true, stop };
  stop();
  return { ok: false, error: stderr.trim() || 'not ready in time', stop };
}

function waitForSlirp(proc: ChildProcess, stopped: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      stopped.removeEventListener('abort', onStop);
      resolve(ok);
    };
    const onStop = () => done(false);
    const timer = setTimeout(() => done(false), SLIRP_READY_TIMEOUT_MS);
    stopped.addEventListener('abort', onStop, { once: true });
    (proc.stdio[3] as Readable | null)?.once('data', () => done(true));
    proc.once('exit', () => done(false));
    proc.once('error', () => done(false));
  });
}

/** Reads a handshake pipe until its writer closes it, or until the process is stopped. */
function readToEnd(stream: Readable | null, stopped: AbortSignal): Promise<string> {
  if (!stream) return Promise.resolve('');
  return new Promise((resolve) => {
    let text = '';
    const finish = () => {
      stopped.removeEventListener('abort', finish);
      resolve(text);
    };
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
    });
    stream.once('end', finish);
    stream.once('close', finish);
    stopped.addEventListener('abort', finish, { once: true });
  });
}
