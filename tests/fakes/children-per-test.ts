import type { ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import { exited } from './worker-process.js';

/** The processes a test file starts: each is killed after its test, and waited for until it is gone. */
export function childrenPerTest(): ChildProcess[] {
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.kill('SIGKILL');
      await exited(child);
    }
  });
  return children;
}
