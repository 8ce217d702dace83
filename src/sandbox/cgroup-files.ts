import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A cgroup file's text, or undefined when it is missing or unreadable (a controller not there). */
export async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** A number from a one-value file (`memory.peak`), or undefined; `max` reads as Infinity. */
export async function readNumber(file: string): Promise<number | undefined> {
  const text = (await readText(file))?.trim();
  if (text === undefined || text === '') return undefined;
  if (text === 'max') return Number.POSITIVE_INFINITY;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** One counter of a flat keyed file (`memory.events`: `oom_kill 2`), 0 when the key is absent. */
export async function readKeyed(file: string, key: string): Promise<number | undefined> {
  const text = await readText(file);
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name === key) return Number(value) || 0;
  }
  return 0;
}

export async function writeText(file: string, value: string | number): Promise<void> {
  await writeFile(file, String(value));
}

/** Writes a limit only where the controller's file exists (v1 without swap accounting has no memsw). */
export async function writeIfPresent(file: string, value: string | number): Promise<boolean> {
  if (!existsSync(file)) return false;
  await writeText(file, value);
  return true;
}

/** The processes in a cgroup (`cgroup.procs`), as pids in this process's pid namespace. */
export async function listPids(dir: string): Promise<number[]> {
  const text = (await readText(path.join(dir, 'cgroup.procs'))) ?? '';
  return text
    .split('\n')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

export function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ESRCH: it ended on its own.
    }
  }
}

export async function makeDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

/** The child cgroups of a directory (a cgroup's subdirectories are its children). */
export async function listChildren(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/** Removes an empty cgroup; a gone one is fine. Returns false when the kernel still says busy. */
export async function removeDir(dir: string): Promise<boolean> {
  try {
    await rmdir(dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT';
  }
}

/**
 * Polls `done` until it holds or `timeoutMs` passes. Cgroup state changes (a frozen group, an emptied
 * one) take the kernel a moment and v1 offers no notification for them, so the code waits by polling.
 */
export async function pollUntil(
  done: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 5,
): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    if (await done()) return true;
    if (performance.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
