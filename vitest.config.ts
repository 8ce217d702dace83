import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests share one Redis and spawn git/bwrap processes; two cores are the limit here.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
