import { execFile } from 'node:child_process';
import { type FileHandle, open, readdir, readFile, statfs } from 'node:fs/promises';
import path from 'node:path';
import { SANDBOX_HOME } from './bwrap-args.js';

/** The sandbox's in-memory file systems, each sized to tmp_mb; what is in them counts as disk too. */
export const SCRATCH_MOUNTS = ['/tmp', SANDBOX_HOME, '/dev/shm'] as const;

/**
 * Bytes a directory tree takes on disk (`du -s -B1 -x`: blocks, hard links once, one file system).
 * du is a separate process so that walking a large clone (node_modules…) never blocks Patchbay's
 * event loop. Files vanishing during the walk make du exit non-zero; its total still stands.
 */
export function measureTree(du: string, dir: string, signal?: AbortSignal): Promise<number | undefined> {
  return new Promise((resolve) => {
    execFile(
      du,
      ['-s', '-B1', '-x', dir],
      { env: { LC_ALL: 'C' }, maxBuffer: 64 * 1024, signal },
      (_err, stdout) => {
        const bytes = Number(String(stdout).split('\t')[0]);
        resolve(Number.isFinite(bytes) && String(stdout).includes('\t') ? bytes : undefined);
      },
    );
  });
}

/** Bytes in use on the whole file system holding `dir` (one statfs: cheap, but counts everyone's writes). */
export async function fileSystemUsed(dir: string): Promise<number | undefined> {
  const stats = await statfs(dir).catch(() => undefined);
  return stats ? (stats.blocks - stats.bfree) * stats.bsize : undefined;
}

const TMPFS_MAGIC = 0x01021994;

/**
 * The sandbox's scratch file systems, held open from the host through the root of a process inside it
 * (`/proc/<pid>/root/tmp`…). An open directory keeps its mount alive, so they can still be measured
 * after the command ended and its mount namespace is gone; `close()` lets them go. bwrap reports the
 * pid before that process has made its mounts, when its root is still the host's: a directory counts
 * only once it is a tmpfs of the scratch size, and holding is tried again until all three are.
 */
export function holdScratch(sandboxPid: number, sizeBytes: number) {
  const held = new Map<string, FileHandle>();
  let closed = false;
  let giveUp = false;

  async function tryHold(): Promise<boolean> {
    for (const mount of SCRATCH_MOUNTS) {
      if (held.has(mount)) continue;
      const handle = await open(path.join(`/proc/${sandboxPid}/root`, mount), 'r').catch(() => undefined);
      if (!handle) continue;
      const stats = await statfs(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
      if (!closed && stats?.type === TMPFS_MAGIC && stats.blocks * stats.bsize === sizeBytes)
        held.set(mount, handle);
      else await handle.close();
    }
    return held.size === SCRATCH_MOUNTS.length;
  }

  return {
    /** Tries to hold them for up to `ms` (the sandbox makes its mounts within milliseconds). */
    async hold(ms: number): Promise<void> {
      const until = performance.now() + ms;
      while (!closed && !giveUp && !(await tryHold()) && performance.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    },
    /** Whether the sandbox's own mounts were seen: its root is no longer the host's. */
    inside(): boolean {
      return held.size > 0;
    },
    /** Stops trying to hold more (the command ended); what is held stays until close(). */
    stopHolding(): void {
      giveUp = true;
    },
    /** Bytes used in all of them, and whether /tmp is full. */
    async measure(): Promise<{ total: number; tmpFull: boolean }> {
      let total = 0;
      let tmpFull = false;
      for (const [mount, handle] of held) {
        const stats = await statfs(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
        if (!stats) continue;
        total += (stats.blocks - stats.bfree) * stats.bsize;
        if (mount === '/tmp' && stats.bavail === 0) tmpFull = true;
      }
      return { total, tmpFull };
    },
    async close(): Promise<void> {
      closed = true;
      await Promise.all([...held.values()].map((h) => h.close().catch(() => undefined)));
      held.clear();
    },
  };
}
export type HeldScratch = ReturnType<typeof holdScratch>;

/**
 * The sandbox's processes read through its own /proc: anonymous memory and tasks (threads count, as
 * for RLIMIT_NPROC) of every process in its pid namespace; what stands for the cgroup's counters where
 * there is no cgroup. Sampled, so a fast allocation or fork can overshoot between samples (RLIMIT_AS
 * and RLIMIT_NPROC bound it meanwhile). Stops reading once `maxTasks` is reached: a fork bomb must not
 * make the watchdog slow.
 */
export async function measureSandbox(
  sandboxPid: number,
  maxTasks: number,
): Promise<{ memoryBytes: number; tasks: number } | undefined> {
  const proc = `/proc/${sandboxPid}/root/proc`;
  let names: string[];
  try {
    names = (await readdir(proc)).filter((n) => /^\d+$/.test(n));
  } catch {
    return undefined;
  }
  if (names.length >= maxTasks) return { memoryBytes: 0, tasks: names.length };
  let memoryBytes = 0;
  let tasks = 0;
  for (const name of names) {
    const status = await readFile(path.join(proc, name, 'status'), 'utf8').catch(() => '');
    memoryBytes += Number(/^RssAnon:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
    tasks += Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 1);
  }
  return { memoryBytes, tasks };
}
