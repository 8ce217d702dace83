import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';

/** Who created a task clone or holds a mirror lock: enough to tell later whether that process lives. */
export interface ProcessOwner {
  pid: number;
  host: string;
  /** Kernel start time of the process (/proc/<pid>/stat field 22), so that a reused pid is not mistaken for it. */
  start?: string;
  /** ms since the epoch */
  at: number;
}

async function readProcessStart(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; the fields after its last ')' are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/** The owner record for this process. */
export async function currentOwner(): Promise<ProcessOwner> {
  const start = await readProcessStart(process.pid);
  return { pid: process.pid, host: hostname(), ...(start ? { start } : {}), at: Date.now() };
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the owner may still be running. A process on another host cannot be checked, so it counts
 * as alive until `foreignMaxAgeMs` has passed.
 */
export async function isOwnerAlive(owner: ProcessOwner, foreignMaxAgeMs: number): Promise<boolean> {
  if (owner.host !== hostname()) return Date.now() - owner.at < foreignMaxAgeMs;
  if (!pidExists(owner.pid)) return false;
  if (!owner.start) return true;
  const start = await readProcessStart(owner.pid);
  return start === undefined || start === owner.start;
}

/** Parses an owner file; undefined when it is missing, half-written or not ours. */
export async function readOwner(path: string): Promise<ProcessOwner | undefined> {
  try {
    const data = JSON.parse(await readFile(path, 'utf8')) as Partial<ProcessOwner>;
    if (typeof data.pid !== 'number' || typeof data.host !== 'string' || typeof data.at !== 'number')
      return undefined;
    return data as ProcessOwner;
  } catch {
    return undefined;
  }
}
