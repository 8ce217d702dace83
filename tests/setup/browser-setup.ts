import { runBrowserPreflight } from './preflight.js';

/**
 * The browser project's global set-up: it stops the run at once when chromium is missing. The rest
 * of the machine (git, bubblewrap, Redis) is the suite project's concern, so `vitest --project
 * browser` runs on a machine that has only Node and chromium.
 */
export async function setup(): Promise<void> {
  const report = runBrowserPreflight({ hostPath: process.env.PATH ?? '' });
  if (report) {
    // Not a thrown error: vitest would print it under "No test files found", which misleads.
    process.stderr.write(`\n${report}\n`);
    process.exit(1);
  }
}
