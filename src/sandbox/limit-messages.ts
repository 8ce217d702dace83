import type { LimitName } from '../domain/task.js';
import { formatBytes } from '../lib/format-bytes.js';
import type { LimitHit, TaskLimits } from './types.js';

/** `memory limit of 4 GiB`, `process limit of 1024`. */
export function describeLimit(name: LimitName, limits: TaskLimits): string {
  switch (name) {
    case 'memory':
      return `memory limit of ${formatBytes(limits.memoryBytes)}`;
    case 'processes':
      return `process limit of ${limits.processes}`;
    case 'disk':
      return `disk limit of ${formatBytes(limits.diskBytes)}`;
    case 'tmp':
      return `/tmp limit of ${formatBytes(limits.tmpBytes)}`;
  }
}

/** The key in patchbay.yml that raises a limit. */
export const LIMIT_KEYS: Record<LimitName, string> = {
  memory: 'memory_mb',
  processes: 'processes',
  disk: 'disk_mb',
  tmp: 'tmp_mb',
};

/** A command killed because the task reached a limit: `killed: the task's memory limit of 4 GiB was reached`. */
export function killedBy(name: LimitName, limits: TaskLimits, detail?: string): LimitHit {
  const more = detail ? ` (${detail})` : '';
  return { name, message: `killed: the task's ${describeLimit(name, limits)} was reached${more}` };
}

/** A limit a command ran into without being killed for it (a full /tmp, disk passed as it exited). */
export function ranInto(name: LimitName, limits: TaskLimits, consequence: string): LimitHit {
  return { name, message: `the task's ${describeLimit(name, limits)} was reached: ${consequence}` };
}
