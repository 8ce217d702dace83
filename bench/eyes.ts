/**
 * The review loop's 👀 while another write of the same installation is in flight. Two "processes"
 * (each its own Octokit and Redis connection, as a worker and the server) share GitHub's pace through
 * Redis; the GitHub stand-in enforces one write per second per token and takes its time over the
 * worker's pull request comment (GitHub's answer after 0.2, 1 or 3 s). While that write is in
 * flight, the server sends the 👀 (an urgent write), and, in the same run, an ordinary write at the
 * same moment (what the 👀 would wait without its precedence): the delay from the call to its
 * arrival at GitHub, and writes GitHub refused. Run with `npx tsx bench/eyes.ts` (BENCH_RUNS).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { GitHubStandIn } from '../src/demo/github-stand-in.js';
import { createOctokit } from '../src/integrations/github/create-octokit.js';
import { tokenPaceKey } from '../src/integrations/github/github-pacing.js';
import { createSilentLogger } from '../src/lib/logger.js';
import { createRedisWritePace } from '../src/queue/redis-write-pace.js';
import { startPacedGitHub } from '../tests/fakes/paced-github.js';
import { REDIS_URL } from '../tests/fakes/redis.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 6);
const TOKEN = 'ghs_benchEyes0123456789abcdef';
const PACE_MS = 1_000;
const ANSWER_MS = [200, 1_000, 3_000];

const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? Number.NaN;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function client(github: GitHubStandIn, redis: Redis, prefix: string) {
  const pace = createRedisWritePace({ redis, prefix, gapMs: PACE_MS });
  return createOctokit({
    token: TOKEN,
    baseUrl: github.url,
    log: createSilentLogger(),
    pace: { pace, key: tokenPaceKey(TOKEN) },
  });
}

/** One run: the worker's comment in flight for `answerMs`; `urgent` (the 👀) or an ordinary write sent meanwhile. */
async function once(answerMs: number, urgent: boolean, offsetMs: number) {
  const prefix = `pbbench:eyes:${randomBytes(4).toString('hex')}:`;
  const github = await startPacedGitHub({
    token: TOKEN,
    writePaceMs: PACE_MS,
    beforeWriteAnswer: (call) => (call.path.endsWith('/comments') ? sleep(answerMs) : undefined),
  });
  const connections = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
  try {
    const [workerRedis, serverRedis] = connections as [Redis, Redis];
    const worker = client(github, workerRedis, prefix);
    const server = client(github, serverRedis, prefix);
    const inFlight = worker.rest.issues.createComment({
      owner: 'acme',
      repo: 'web',
      issue_number: 1,
      body: 'progress',
    });
    while (github.writes.length === 0) await sleep(2);
    await sleep(offsetMs);
    const sentAt = performance.now();
    if (urgent)
      await server.rest.reactions.createForIssueComment({
        owner: 'acme',
        repo: 'web',
        comment_id: 7,
        content: 'eyes',
      });
    else
      await server.rest.issues.createComment({ owner: 'acme', repo: 'web', issue_number: 1, body: 'other' });
    await inFlight;
    const arrived = github.writes[1]?.at ?? Number.NaN;
    return { delay: arrived - sentAt, refused: github.writes.filter((w) => w.refused).length };
  } finally {
    const redis = connections[0];
    const keys = redis ? await redis.keys(`${prefix}*`) : [];
    if (redis && keys.length) await redis.del(...keys);
    for (const c of connections) c.disconnect();
    await github.close();
  }
}

console.log(
  `\n| GitHub answers the write in flight after | write sent meanwhile | runs | p50 ms to GitHub | max ms | refused |`,
);
console.log('| ---: | --- | ---: | ---: | ---: | ---: |');
for (const answerMs of ANSWER_MS) {
  for (const urgent of [true, false]) {
    const delays: number[] = [];
    let refused = 0;
    for (let i = 0; i < RUNS; i++) {
      // Sent at a different moment of the write in flight each run, from its start to its answer.
      const r = await once(answerMs, urgent, Math.round((answerMs * i) / RUNS));
      delays.push(r.delay);
      refused += r.refused;
    }
    const what = urgent ? 'the 👀 (urgent)' : 'an ordinary write';
    console.log(
      `| ${(answerMs / 1000).toFixed(1)} s | ${what} | ${RUNS} | ${quantile(delays, 0.5).toFixed(0)} | ${Math.max(...delays).toFixed(0)} | ${refused} |`,
    );
  }
}
