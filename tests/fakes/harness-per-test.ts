import { afterEach } from 'vitest';
import type { Script } from '../../src/demo/scripted-model.js';
import { type Harness, type HarnessOptions, startHarness } from './harness.js';

/** A harness per test, closed after it: `const start = harnessPerTest();` at the top of a test file. */
export function harnessPerTest() {
  let current: Harness | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (script: Script, extra: Partial<HarnessOptions> = {}): Promise<Harness> => {
    current = await startHarness({ script, ...extra });
    return current;
  };
}
