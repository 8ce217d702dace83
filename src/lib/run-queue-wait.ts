import { readFileSync } from 'node:fs';

/**
 * How long a thread has waited for a core so far (Linux's run-queue wait, the second field of /proc's
 * schedstat), in nanoseconds: a thread of this process, or of the process `pid` (a process's main
 * thread has the process's id); undefined where that is not known (not Linux, no /proc, a kernel
 * without scheduler statistics, a thread that ended).
 */
export function runQueueWaitNs(tid: number, pid: number | 'self' = 'self'): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ');
    const ns = Number(fields[1]);
    return fields.length >= 3 && Number.isFinite(ns) ? ns : undefined;
  } catch {
    return undefined;
  }
}
