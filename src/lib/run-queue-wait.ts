import { readFileSync } from 'node:fs';

/**
 * How long a thread of this process has waited for a core so far (Linux's run-queue wait, the second
 * field of /proc's schedstat), in nanoseconds; undefined where that is not known (not Linux, no
 * /proc, a kernel without scheduler statistics, a thread that ended).
 */
export function runQueueWaitNs(tid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').trim().split(' ');
    const ns = Number(fields[1]);
    return fields.length >= 3 && Number.isFinite(ns) ? ns : undefined;
  } catch {
    return undefined;
  }
}
