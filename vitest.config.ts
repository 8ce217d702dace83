import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Checks the machine (git, bubblewrap, slirp4netns…) and starts a private Redis when none answers.
    globalSetup: ['tests/setup/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests share one Redis and spawn git/bwrap processes; two cores are the limit here.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
