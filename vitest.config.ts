import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'suite',
          include: ['tests/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'tests/browser/**'],
          // Checks the machine (git, bubblewrap, slirp4netns…) and starts a private Redis when none answers.
          globalSetup: ['tests/setup/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Tests share one Redis and spawn git/bwrap processes; two cores are the limit here.
          fileParallelism: true,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        // The pages in a real browser (Debian's chromium, driven by playwright-core): one file at a
        // time, after the suite, so that a browser never competes with it for the two cores.
        test: {
          name: 'browser',
          include: ['tests/browser/**/*.test.ts'],
          // Needs chromium only: no Redis, git or bubblewrap.
          globalSetup: ['tests/setup/browser-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
