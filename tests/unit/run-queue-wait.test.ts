import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { runQueueWaitNs } from '../../src/lib/run-queue-wait.js';

describe('a thread’s run-queue wait', () => {
  it.runIf(process.platform === 'linux')(
    'is read for a thread of this process, and grows, never shrinks',
    () => {
      const first = runQueueWaitNs(process.pid); // the main thread's id is the process's
      let spin = 0;
      for (let i = 0; i < 5_000_000; i++) spin += i;
      const later = runQueueWaitNs(process.pid);

      expect(spin).toBeGreaterThan(0);
      expect(first).toBeTypeOf('number');
      expect(later).toBeGreaterThanOrEqual(first ?? Number.POSITIVE_INFINITY);
    },
  );

  it.runIf(process.platform === 'linux')('is read for another process’s main thread', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    try {
      const pid = child.pid ?? 0;
      expect(runQueueWaitNs(pid, pid)).toBeTypeOf('number');
      expect(runQueueWaitNs(pid)).toBeUndefined(); // not a thread of this process
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('is unknown for a thread that is not one of this process’s', () => {
    expect(runQueueWaitNs(0)).toBeUndefined();
    expect(runQueueWaitNs(2 ** 31 - 1)).toBeUndefined();
  });
});
