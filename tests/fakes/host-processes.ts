import { readdirSync, readFileSync } from 'node:fs';
import { eventually } from './slack-requests.js';

/**
 * Whether any process on the host runs with this exact argument (a unique sleep duration such as
 * `600.301`). Sandboxed processes have their own PID namespace but are still in the host's /proc.
 */
export function hostHasProcess(marker: string): boolean {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker);
      } catch {
        return false;
      }
    });
}

/** Whether the process `pid` runs (a zombie, ended and not yet reaped by its parent, does not). */
export function pidRuns(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses; the state follows its last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Resolves once a process with `marker` runs: the command under test has started. */
export async function processStarted(marker: string): Promise<void> {
  await eventually(() => hostHasProcess(marker), 20_000, `a process with ${marker}`);
}

/** Resolves true once no process with `marker` runs (a kill may take a moment to be reaped). */
export async function waitUntilGone(marker: string): Promise<boolean> {
  await eventually(() => !hostHasProcess(marker), 20_000, `no process with ${marker}`);
  return true;
}
