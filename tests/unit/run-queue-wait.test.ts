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

  it('is unknown for a thread that is not one of this process’s', () => {
    expect(runQueueWaitNs(0)).toBeUndefined();
    expect(runQueueWaitNs(2 ** 31 - 1)).toBeUndefined();
  });
});
