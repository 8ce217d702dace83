import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFinal, REPO } from '../fakes/harness.js';
import { harnessPerTest } from '../fakes/harness-per-test.js';
import { startRedisCluster } from '../fakes/redis-cluster.js';
import { FIX_GREETING } from '../fakes/scripts.js';
import { eventually } from '../fakes/slack-requests.js';

const start = harnessPerTest();
let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('Redis Cluster (PATCHBAY_REDIS_CLUSTER=1)', () => {
  it('runs the task path on a three-node cluster: API → inbox → task → worker → pull request, a repeat deduplicated', async () => {
    const h = await start(FIX_GREETING, {
      env: { REDIS_URL: cluster.url, PATCHBAY_REDIS_CLUSTER: '1' },
    });

    const created = await h.createTask(
      { instruction: 'greet() is missing a comma' },
      { 'idempotency-key': 'c-1' },
    );
    const right = await h.get(`/api/tasks/${created.body.id}`);
    const repeat = await h.createTask(
      { instruction: 'greet() is missing a comma' },
      { 'idempotency-key': 'c-1' },
    );
    const task = await h.waitFor(created.body.id, isFinal, 90_000);
    const events = await h.get(`/api/tasks/${created.body.id}/events`);
    const listed = await h.get('/api/tasks');
    const client = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0] ?? 0 }]);
    const slots = await eventually(async () => {
      const prefix = h.workerProcessEnv.PATCHBAY_REDIS_PREFIX.replace(/:$/, '');
      const keys = await Promise.all(client.nodes('master').map((n) => n.keys(`{${prefix}}*`)));
      return keys.flat().length > 0 ? keys.map((k) => k.length) : null;
    });
    client.disconnect();

    expect(created.status).toBe(202);
    expect(right.body.status).toBe('queued');
    expect(repeat.body).toMatchObject({ id: created.body.id, repeated: true });
    expect(task.status).toBe('succeeded');
    expect(task.pullRequest?.number).toBe(h.github.pulls[0]?.number);
    expect(h.github.pulls).toHaveLength(1);
    expect(events.body.events.length).toBeGreaterThan(3);
    expect(listed.body.tasks.map((t: { id: string }) => t.id)).toEqual([created.body.id]);
    expect(listed.body.tasks[0]).toMatchObject({ repo: REPO, status: 'succeeded' });
    // Every Patchbay key of the deployment is under its prefix's hash tag: one node holds them all.
    expect(slots.filter((n) => n > 0)).toHaveLength(1);
  }, 120_000);
});
