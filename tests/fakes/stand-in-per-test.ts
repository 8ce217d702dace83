import { afterEach, expect } from 'vitest';
import type { RecordedCall } from '../../src/demo/http-stand-in.js';

/**
 * Closes the stand-in a test started, after the test, and fails the test when the stand-in got a
 * request no route expected. Returns `track`, which hands back the stand-in it is given.
 */
export function standInPerTest<T extends { unmatched: RecordedCall[]; close(): Promise<void> }>() {
  let current: T | undefined;
  afterEach(async () => {
    const unmatched = current?.unmatched.map((c) => `${c.method} ${c.path}`) ?? [];
    await current?.close();
    current = undefined;
    expect(unmatched).toEqual([]);
  });
  return (standIn: T): T => {
    current = standIn;
    return standIn;
  };
}
