import { ensureRedis, hideRedisPassword, redisAnswers } from '../../src/demo/private-redis.js';
import { REDIS_URL } from '../fakes/redis.js';
import { runPreflight } from './preflight.js';

/**
 * Vitest's global set-up, run once in the main process before any test file. It stops the run at once
 * when this machine lacks something the tests need, and gives the tests a Redis: the one at REDIS_URL
 * when it answers, else a private redis-server, stopped by the returned teardown. Vitest forks its
 * workers after this returns and hands them process.env, so the REDIS_URL set here is the one
 * tests/fakes/redis.ts reads in every worker.
 */
export async function setup(): Promise<() => Promise<void>> {
  const shown = hideRedisPassword(REDIS_URL);
  const answers = await redisAnswers(REDIS_URL);
  const report = await runPreflight({
    hostPath: process.env.PATH ?? '',
    ...(answers ? {} : { unansweredRedisUrl: shown }),
  });
  if (report) {
    // Not a thrown error: vitest would print it under "No test files found", which misleads.
    process.stderr.write(`\n${report}\n`);
    process.exit(1);
  }
  const redis = await ensureRedis(REDIS_URL);
  if (!redis.started) return async () => {};
  process.env.REDIS_URL = redis.url;
  process.stdout.write(
    `Nothing answers on ${shown}: the tests use a private redis-server at ${redis.url}.\n`,
  );
  return redis.started.stop;
}
