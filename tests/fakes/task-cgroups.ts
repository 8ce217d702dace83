import { readdirSync, readFileSync } from 'node:fs';

/** Host pids of the processes running with this exact argument (a unique sleep duration). */
export function pidsWith(marker: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(marker);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** A process's cgroup path in each hierarchy, as /proc/<pid>/cgroup lists them (`''` for v2). */
export function cgroupsOf(pid: number): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    for (const name of (match[1] ?? '').split(',')) paths.set(name, match[2] ?? '');
  }
  return paths;
}
