import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { childrenPerTest } from '../fakes/children-per-test.js';
import { freePort } from '../fakes/free-port.js';
import { REPO } from '../fakes/harness.js';
import { REDIS_URL } from '../fakes/redis.js';
import { SLACK_SECRET, slackPerTest } from '../fakes/slack-per-test.js';
import { eventually, nextTs, postToSlackEvents, slackEvent } from '../fakes/slack-requests.js';
import { exited } from '../fakes/worker-process.js';

const start = slackPerTest();
const children = childrenPerTest();

/**
 * tests/fakes/server-process.ts in a process of its own; resolves with it once it listens, and with
 * the id of its inbox process.
 */
async function spawnServer(env: Record<string, string>, args: string[]) {
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), 'tests/fakes/server-process.ts', ...args],
    {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  const said = await new Promise<{ port: number; inboxPid: number }>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /^\{"port":.*\}$/m.exec(out);
      if (found) resolve(JSON.parse(found[0]) as { port: number; inboxPid: number });
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening`)));
  });
  return { child, port: said.port, inboxPid: said.inboxPid };
}

describe('the durable ack across a crash', () => {
  it('makes exactly one task of each acknowledged request when the server is killed holding them and another starts', async () => {
    const { h, slack } = await start([], { worker: false });
    const id = randomBytes(4).toString('hex');
    const prefix = `pbtest:crash:${id}:`;
    const queue = `pbtest-crash-${id}`;
    const env = {
      ...h.workerProcessEnv,
      PATCHBAY_REDIS_PREFIX: prefix,
      PATCHBAY_QUEUE: queue,
      PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    };
    const redis = new Redis(REDIS_URL);
    const first = await spawnServer(env, ['--hold']);
    const base = `http://127.0.0.1:${first.port}`;
    const headers = { authorization: `Bearer ${h.secrets.apiToken}`, 'content-type': 'application/json' };
    const mentions = [1, 2, 3].map((n) => {
      const ts = nextTs();
      return {
        ts,
        body: slackEvent('app_mention_channel', { text: `<@UPATCHBOT> fix greet ${n} in acme/web`, ts }),
      };
    });

    const api = await Promise.all(
      [1, 2, 3].map((n) =>
        fetch(`${base}/api/tasks`, {
          method: 'POST',
          headers: { ...headers, 'idempotency-key': `crash-${id}-${n}` },
          body: JSON.stringify({ repo: REPO, instruction: `fix the greeting ${n}` }),
        }),
      ),
    );
    const acks = await Promise.all(mentions.map((m) => postToSlackEvents(base, SLACK_SECRET, m.body)));
    const apiIds = await Promise.all(api.map(async (r) => ((await r.json()) as { id: string }).id));
    // The first server read all six (its consumer holds them) and dies before making any task.
    await eventually(async () => (await pendingCount(redis, prefix)) === 6 || null, 20_000, 'six pending');
    // The server and its inbox process die at once, as on a machine that lost power.
    process.kill(first.inboxPid, 'SIGKILL');
    first.child.kill('SIGKILL');
    await exited(first.child);
    const tasksBefore = await redis.keys(`${prefix}task:*`);
    const second = await spawnServer(env, ['--claim-idle-ms=200']);
    const again = await postToSlackEvents(
      `http://127.0.0.1:${second.port}`,
      SLACK_SECRET,
      mentions[0]?.body ?? '',
      {
        headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
      },
    );
    const onIt = () =>
      slack.callsTo('chat.postMessage').filter((c) => String(c.args.text).startsWith('👀 On it'));
    await eventually(() => (onIt().length >= 3 ? true : null), 30_000, 'three mentions taken');
    await eventually(
      async () => ((await redis.llen(`bull:${queue}:wait`)) >= 6 ? true : null),
      30_000,
      'six jobs',
    );
    const listed = await fetch(`${base}/api/tasks?limit=100`, { headers });
    const tasks = ((await listed.json()) as { tasks: Array<{ id: string; source: string }> }).tasks;
    const jobs = await redis.llen(`bull:${queue}:wait`);
    await eventually(async () => (await pendingCount(redis, prefix)) === 0 || null, 20_000, 'none pending');
    redis.disconnect();

    expect(api.map((r) => r.status)).toEqual([202, 202, 202]);
    expect(acks.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(tasksBefore).toEqual([]);
    expect(again.status).toBe(200);
    expect(tasks).toHaveLength(6);
    expect(
      tasks
        .filter((t) => t.source === 'api')
        .map((t) => t.id)
        .sort(),
    ).toEqual(apiIds.sort());
    expect(jobs).toBe(6);
    expect(onIt()).toHaveLength(3);
    expect(new Set(onIt().map((c) => c.args.thread_ts))).toEqual(new Set(mentions.map((m) => m.ts)));
  }, 90_000);
});

async function pendingCount(redis: Redis, prefix: string): Promise<number> {
  const summary = (await redis.xpending(`${prefix}{inbox}:inbox`, 'patchbay-inbox').catch(() => [0])) as [
    number,
  ];
  return Number(summary[0] ?? 0);
}
