/**
 * CPU time a process has used, by thread, read from Linux's /proc (bench/ack.ts divides it by the
 * mentions a server handled). Elsewhere, or where /proc is not mounted, it reads nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on every Linux Patchbay runs on). */
const TICKS_PER_SECOND = 100;
const SCHED_IDLE = 5;

export interface ThreadCpu {
  /** CPU milliseconds (user and system) of each thread, by thread id. */
  byThread: Map<number, { ms: number; lowered: boolean }>;
  /** All of the process's threads together, milliseconds. */
  total: number;
}

/** Fields of a /proc stat line after the command name (which may hold spaces). */
function statFields(path: string): string[] {
  const line = readFileSync(path, 'utf8');
  return line.slice(line.lastIndexOf(')') + 2).split(' ');
}

export function readThreadCpu(pid: number): ThreadCpu {
  const byThread = new Map<number, { ms: number; lowered: boolean }>();
  let total = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        // After the name: state(0) … utime(11) stime(12) … nice(16) … policy(38; 5: SCHED_IDLE).
        const f = statFields(`/proc/${pid}/task/${tid}/stat`);
        const ms = ((Number(f[11]) + Number(f[12])) * 1_000) / TICKS_PER_SECOND;
        byThread.set(Number(tid), { ms, lowered: Number(f[16]) > 0 || Number(f[38]) === SCHED_IDLE });
        total += ms;
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    // not Linux, or the process is gone
  }
  return { byThread, total };
}

/**
 * What a process spent between two readings: in all, in its threads at a lower priority (a server
 * of an earlier Patchbay ran its inbox consumer on such a thread; now the consumer is a process of
 * its own, read on its own), and in its main thread (whose id is the process's).
 */
export function cpuBetween(
  before: ThreadCpu,
  after: ThreadCpu,
  mainTid: number,
): { total: number; lowered: number; main: number } {
  let lowered = 0;
  for (const [tid, now] of after.byThread) {
    if (!now.lowered) continue;
    lowered += now.ms - (before.byThread.get(tid)?.ms ?? 0);
  }
  const main = (after.byThread.get(mainTid)?.ms ?? 0) - (before.byThread.get(mainTid)?.ms ?? 0);
  return { total: after.total - before.total, lowered, main };
}
