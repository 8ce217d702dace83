/**
 * The durable ack's Redis round trip alone: `accept` (the Lua script that claims the delivery and
 * appends to the inbox) on the single Redis at REDIS_URL and on a private three-node Redis Cluster
 * started here, 2,000 calls one after another each. On the Cluster the script's keys share one hash
 * tag, so it is still one round trip (to the node that holds the tag). Run with `npx tsx bench/inbox.ts`.
 */
import { randomBytes } from 'node:crypto';
import { clusterNames, connectRedis } from '../src/queue/redis-connection.js';
import { createRedisInbox } from '../src/queue/redis-inbox.js';
import { REDIS_URL } from '../tests/fakes/redis.js';
import { startRedisCluster } from '../tests/fakes/redis-cluster.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 2_000);
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? Number.NaN;

async function measure(url: string, cluster: boolean): Promise<number[]> {
  const target = { url, cluster };
  const redis = connectRedis(target, { lazyConnect: true });
  await redis.connect();
  const { prefix } = clusterNames(target, {
    prefix: `pbbench:inbox:${randomBytes(4).toString('hex')}:`,
    queueName: 'q',
  });
  const inbox = createRedisInbox({ redis, prefix });
  const times: number[] = [];
  for (let i = 0; i < CALLS + 100; i++) {
    const t0 = performance.now();
    await inbox.accept({ kind: 'bench', taskId: `t${i}`, deliveryId: `d${i}`, payload: { n: i } });
    if (i >= 100) times.push(performance.now() - t0); // the first 100 warm up
  }
  redis.disconnect();
  return times;
}

const cluster = await startRedisCluster();
try {
  const single = await measure(REDIS_URL, false);
  const sharded = await measure(cluster.url, true);
  console.log(
    `\n| accept, ${CALLS} calls one at a time | round trips | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: |`,
  );
  for (const [label, xs] of [
    ['single Redis', single],
    ['Redis Cluster, 3 masters', sharded],
  ] as const) {
    console.log(`| ${label} | 1 | ${quantile(xs, 0.5).toFixed(2)} | ${quantile(xs, 0.99).toFixed(2)} |`);
  }
} finally {
  await cluster.stop();
}
