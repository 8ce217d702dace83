/**
 * P1: the durable ack. Signed Slack mentions at a steady rate, in alternating blocks, against
 * Patchbay's server (`patchbay server` in a process of its own, its inbox consumer making the tasks)
 * and a bare Bolt app (empty listener, Bolt's default early ack, also its own process), in the same
 * run: the answer's p50, p99 and max for each, and the ratio. Then the count: every acknowledged
 * mention became exactly one task, also when the server is SIGKILLed in the middle of a burst and
 * restarted (mentions that got no answer are sent again, as Slack would). Run with `npx tsx bench/ack.ts`
 * (BENCH_MENTIONS, BENCH_RATE, BENCH_BLOCK change the load).
 */
import { availableParallelism, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../tests/fakes/redis.js';
import { postToSlackEvents, slackEvent } from '../tests/fakes/slack-requests.js';
import { countTasks, freePort, type Spawned, spawnPatchbay, spawnProcess } from './ack-processes.js';

const MENTIONS = Number(process.env.BENCH_MENTIONS ?? 1_000);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const BLOCK = Number(process.env.BENCH_BLOCK ?? 50);
const SECRET = 'bench-signing-secret-0123456789abcdef';
const ALONE = Number(process.env.BENCH_ALONE ?? 200);

const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? Number.NaN;

interface Sent {
  eventId: string;
  ok: boolean;
  ms: number;
  body: ReturnType<typeof slackEvent>;
}

function mention(n: number) {
  const ts = `${1_790_000_000 + n}.${String(n % 1_000_000).padStart(6, '0')}`;
  return slackEvent('app_mention_channel', {
    text: `<@UPATCHBOT> fix greet ${n} in acme/web`,
    ts,
    event_ts: ts,
  });
}

/** Sends `count` mentions to `base` at RATE per second, open loop: each on its own schedule. */
async function burst(base: () => string, first: number, count: number): Promise<Sent[]> {
  const start = performance.now();
  const sends = Array.from({ length: count }, async (_, i) => {
    const due = start + (i * 1_000) / RATE;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    const body = mention(first + i);
    const t0 = performance.now();
    const ok = await postToSlackEvents(base(), SECRET, body).then(
      async (res) => {
        await res.arrayBuffer();
        return res.status === 200;
      },
      () => false,
    );
    return { eventId: String(body.event_id), ok, ms: performance.now() - t0, body };
  });
  return Promise.all(sends);
}

function row(label: string, xs: number[]) {
  return `| ${label} | ${xs.length} | ${quantile(xs, 0.5).toFixed(1)} | ${quantile(xs, 0.99).toFixed(1)} | ${Math.max(...xs).toFixed(1)} |`;
}

type Stand = { token: string; url: string };

async function latency(stand: Stand, redis: Redis): Promise<void> {
  const patchbay = await spawnPatchbay({ stand, secret: SECRET, port: await freePort() });
  const bolt = await spawnProcess('bench/bare-bolt.ts', [], {
    SLACK_SIGNING_SECRET: SECRET,
    PORT: String(await freePort()),
  });
  const times: Record<'patchbay' | 'bolt', number[]> = { patchbay: [], bolt: [] };
  const acked: string[] = [];
  try {
    // Warm-up (connections, JIT), not counted.
    const warm = await burst(() => patchbay.base, 0, 20);
    acked.push(...warm.filter((s) => s.ok).map((s) => s.eventId));
    await burst(() => bolt.base, 0, 20);
    await new Promise((r) => setTimeout(r, 500));
    for (let n = 0; n < MENTIONS; n += BLOCK) {
      const size = Math.min(BLOCK, MENTIONS - n);
      const p = await burst(() => patchbay.base, 1_000 + n, size);
      const b = await burst(() => bolt.base, 1_000 + n, size);
      times.patchbay.push(...p.filter((s) => s.ok).map((s) => s.ms));
      times.bolt.push(...b.filter((s) => s.ok).map((s) => s.ms));
      acked.push(...p.filter((s) => s.ok).map((s) => s.eventId));
    }
    // One at a time, each after the previous one's task was made: the answer's own cost, alone.
    const alone = { patchbay: [] as number[], bolt: [] as number[] };
    for (let n = 0; n < ALONE; n++) {
      const [p] = await burst(() => patchbay.base, 500_000 + n, 1);
      const [b] = await burst(() => bolt.base, 500_000 + n, 1);
      if (p?.ok) alone.patchbay.push(p.ms);
      if (b?.ok) alone.bolt.push(b.ms);
      if (p?.ok) acked.push(p.eventId);
      await new Promise((r) => setTimeout(r, 60));
    }
    const counted = await countTasks(redis, patchbay.prefix, acked, acked.length);
    console.log(
      `\n| ${ALONE} mentions each, one at a time, 60 ms apart | answered | p50 ms | p99 ms | max ms |`,
    );
    console.log('| --- | ---: | ---: | ---: | ---: |');
    console.log(row('Patchbay', alone.patchbay));
    console.log(row('bare Bolt', alone.bolt));
    console.log(
      `\n| ${MENTIONS} mentions each, ${RATE}/s, blocks of ${BLOCK} | answered | p50 ms | p99 ms | max ms |`,
    );
    console.log('| --- | ---: | ---: | ---: | ---: |');
    console.log(row('Patchbay (durable ack: one Redis round trip)', times.patchbay));
    console.log(row('bare Bolt (empty listener, early ack)', times.bolt));
    const ratio = (q: number) => (quantile(times.patchbay, q) / quantile(times.bolt, q)).toFixed(2);
    console.log(`| Patchbay ÷ bare Bolt | | ${ratio(0.5)}× | ${ratio(0.99)}× | |`);
    console.log(`\nload average (1 min): ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores`);
    console.log(
      `acknowledged: ${acked.length}; tasks: ${counted.tasks}; acknowledged without a task: ${counted.missing}; extra tasks: ${counted.extra}`,
    );
  } finally {
    await stopProcess(patchbay);
    await stopProcess(bolt);
  }
}

async function crash(stand: Stand, redis: Redis): Promise<void> {
  const port = await freePort();
  let server = await spawnPatchbay({ stand, secret: SECRET, port });
  const prefix = server.prefix;
  const count = Math.min(MENTIONS, 500);
  const base = () => server.base;
  const sending = burst(base, 100_000, count);
  await new Promise((r) => setTimeout(r, (count / 2 / RATE) * 1_000));
  server.child.kill('SIGKILL');
  const killedAt = performance.now();
  await new Promise((r) => server.child.once('exit', r));
  server = await spawnPatchbay({ stand, secret: SECRET, port, prefix, claimIdleMs: 1_000 });
  const downMs = performance.now() - killedAt;
  const first = await sending;
  const unanswered = first.filter((s) => !s.ok);
  // Slack sends again what got no answer, with the same event id.
  const again = await Promise.all(
    unanswered.map(async (s) => {
      const res = await postToSlackEvents(server.base, SECRET, s.body, {
        headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_error' },
      });
      return res.status === 200;
    }),
  );
  const acked = first.map((s) => s.eventId);
  const counted = await countTasks(redis, prefix, acked, count);
  await stopProcess(server);
  console.log(`\n| SIGKILL mid-burst (${count} mentions at ${RATE}/s) | count |\n| --- | ---: |`);
  console.log(`| answered 200 before or after the kill | ${first.filter((s) => s.ok).length} |`);
  console.log(
    `| no answer (sent while down ${downMs.toFixed(0)} ms, or cut by the kill) | ${unanswered.length} |`,
  );
  console.log(`| of those, answered 200 when sent again | ${again.filter(Boolean).length} |`);
  console.log(`| tasks made | ${counted.tasks} |`);
  console.log(`| acknowledged mentions without a task | ${counted.missing} |`);
  console.log(`| tasks beyond one per mention | ${counted.extra} |`);
}

async function stopProcess(p: Spawned): Promise<void> {
  if (p.child.exitCode !== null) return;
  p.child.kill('SIGTERM');
  await new Promise((r) => p.child.once('exit', r));
}

const standIn = await spawnProcess('bench/slack-stand-in-process.ts', [], {});
const stand = { token: String(standIn.said.token), url: `${standIn.base}/` };
const redis = new Redis(REDIS_URL);
try {
  await latency(stand, redis);
  await crash(stand, redis);
} finally {
  redis.disconnect();
  standIn.child.kill('SIGTERM');
}
