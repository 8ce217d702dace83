import { describe, expect, it } from 'vitest';
import type { GitHubStandIn } from '../../src/demo/github-stand-in.js';
import type { WritePace } from '../../src/domain/write-pace.js';
import { createOctokit } from '../../src/integrations/github/create-octokit.js';
import { tokenPaceKey } from '../../src/integrations/github/github-pacing.js';
import { createLocalWritePace } from '../../src/integrations/github/local-write-pace.js';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createRedisWritePace } from '../../src/queue/redis-write-pace.js';
import { startPacedGitHub } from '../fakes/paced-github.js';
import { redisPerTest } from '../fakes/redis-per-test.js';
import { standInPerTest } from '../fakes/stand-in-per-test.js';

const TOKEN = 'ghs_paceSecret0123456789abcdef';
const PACE_MS = 1_000;
const track = standInPerTest<GitHubStandIn>();
const { connect, prefix: keyPrefix } = redisPerTest();

/** What one process has: its own Redis connection and its own GitHub client. */
function processClient(github: GitHubStandIn, pace: WritePace) {
  return createOctokit({
    token: TOKEN,
    baseUrl: github.url,
    log: createSilentLogger(),
    pace: { pace, key: tokenPaceKey(TOKEN) },
  });
}

const comment = (octokit: ReturnType<typeof processClient>, i: number) =>
  octokit.rest.issues.createComment({ owner: 'acme', repo: 'web', issue_number: 1, body: `note ${i}` });

async function waitUntil(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** GitHub enforcing the pace, with pull request #1 to comment on. */
async function standIn(opts: Pick<Parameters<typeof startPacedGitHub>[0], 'beforeWriteAnswer'> = {}) {
  return track(await startPacedGitHub({ token: TOKEN, writePaceMs: PACE_MS, ...opts }));
}

describe('GitHub writes under one pace', () => {
  it('keeps the pace across clients of two processes: the stand-in that enforces it refuses none', async () => {
    const github = await standIn();
    const gapMs = PACE_MS;
    const one = processClient(github, createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs }));
    const two = processClient(github, createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs }));

    await Promise.all([0, 1, 2].flatMap((i) => [comment(one, i), comment(two, i + 3)]));

    expect(github.writes.filter((w) => w.refused)).toEqual([]);
    expect(github.comments).toHaveLength(6);
  });

  it('is needed: two processes pacing only themselves are refused by the stand-in (then wait it out)', async () => {
    const github = await standIn();
    const one = processClient(github, createLocalWritePace(PACE_MS));
    const two = processClient(github, createLocalWritePace(PACE_MS));

    await Promise.all([comment(one, 0), comment(two, 1)]);

    expect(github.writes.filter((w) => w.refused).length).toBeGreaterThan(0);
    expect(github.comments).toHaveLength(2);
  });

  it('sends the 👀 of another process before the writes already waiting, within one gap', async () => {
    const github = await standIn();
    const gapMs = PACE_MS;
    const worker = processClient(
      github,
      createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs }),
    );
    const server = processClient(
      github,
      createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs }),
    );
    const writes = [0, 1, 2, 3].map((i) => comment(worker, i));
    await waitUntil(() => github.writes.length === 1); // the first took the slot; three wait

    await server.rest.reactions.createForIssueComment({
      owner: 'acme',
      repo: 'web',
      comment_id: 7,
      content: 'eyes',
    });
    await Promise.all(writes);

    expect(github.writes.map((w) => w.path.endsWith('/reactions'))).toEqual([
      false,
      true,
      false,
      false,
      false,
    ]);
    expect(github.writes.filter((w) => w.refused)).toEqual([]);
  });

  it('sends the 👀 one gap after a write GitHub is slow to answer started, without waiting for that answer', async () => {
    let answer: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    let held = 0;
    const github = await standIn({
      // GitHub takes its time over the first comment: its answer comes once the test lets it go.
      beforeWriteAnswer: (call) => (call.path.endsWith('/comments') && held++ === 0 ? answered : undefined),
    });
    const worker = processClient(
      github,
      createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs: PACE_MS }),
    );
    const server = processClient(
      github,
      createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs: PACE_MS }),
    );
    const writes = [0, 1].map((i) => comment(worker, i));
    await waitUntil(() => github.writes.length === 1); // the first is in flight, the second waits

    await server.rest.reactions.createForIssueComment({
      owner: 'acme',
      repo: 'web',
      comment_id: 7,
      content: 'eyes',
    });
    const reactionSeenBeforeAnswer = github.comments.length === 0;
    answer();
    await Promise.all(writes);

    expect(reactionSeenBeforeAnswer).toBe(true);
    expect(github.writes.map((w) => w.path.endsWith('/reactions'))).toEqual([false, true, false]);
    const [first, reaction] = github.writes;
    expect((reaction?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(PACE_MS);
    expect(github.writes.filter((w) => w.refused)).toEqual([]);
  });

  it('lets reads through while the writes of the same token wait', async () => {
    const github = await standIn();
    const pace = createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs: PACE_MS });
    const octokit = processClient(github, pace);
    await pace.holdOff(tokenPaceKey(TOKEN), 60_000);
    const write = comment(octokit, 0).catch(() => undefined);

    const { data } = await octokit.rest.pulls.list({ owner: 'acme', repo: 'web' });

    expect(data).toHaveLength(1);
    expect(github.calls.map((c) => c.method)).toEqual(['GET']);
    void write;
  });

  it('keys a token by a hash: the token itself never reaches Redis', async () => {
    const github = await standIn();
    const pace = createRedisWritePace({ redis: connect(), prefix: keyPrefix(), gapMs: PACE_MS });

    await comment(processClient(github, pace), 0);

    const keys = await connect().keys(`${keyPrefix()}*`);
    expect(keys).toEqual([`${keyPrefix()}{ghpace:${tokenPaceKey(TOKEN)}}`]);
    expect(keys.join()).not.toContain(TOKEN.slice(4, 12));
  });
});
