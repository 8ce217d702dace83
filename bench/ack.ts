/**
 * P1: the durable ack. Signed Slack mentions at a steady rate, in blocks taking turns, against
 * Patchbay's server as `patchbay server` runs it (a process of its own; its inbox consumer, which
 * makes the tasks and sends the 👀 and the reply, in a process of its own at nice 10), the same
 * server with that process at idle priority, optionally an earlier commit's server (BENCH_BASELINE), and a
 * bare Bolt app (empty listener, Bolt's default early ack, also its own process), in the same run:
 * the answer's p50, p99 and max for each, and the ratios, after each handled BENCH_WARMUP mentions
 * (2,000) that are not counted. Then the count: every acknowledged mention became exactly one task,
 * also when the server is SIGKILLed in the middle of a burst and restarted (mentions that got no
 * answer are sent again, as Slack would). Run with `npx tsx bench/ack.ts` (BENCH_MENTIONS,
 * BENCH_RATE, BENCH_BLOCK change the load; BENCH_CLIENT_NICE, the sending process's priority;
 * BENCH_STAND_IN_NICE, the Slack stand-in's, which plays servers that are not on this machine in
 * production). It also prints the CPU each mention cost, by process and thread: the server's main
 * thread, its other threads (V8's and libuv's), its consumer, the Slack stand-in and Redis.
 */
import { availableParallelism, loadavg, setPriority } from 'node:os';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../tests/fakes/redis.js';
import { postToSlackEvents, slackEvent } from '../tests/fakes/slack-requests.js';
import { countTasks, forget, freePort, type Spawned, spawnPatchbay, spawnProcess } from './ack-processes.js';
import { cpuBetween, readThreadCpu } from './thread-cpu.js';

const MENTIONS = Number(process.env.BENCH_MENTIONS ?? 1_000);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const BLOCK = Number(process.env.BENCH_BLOCK ?? 50);
const SECRET = 'bench-signing-secret-0123456789abcdef';
const ALONE = Number(process.env.BENCH_ALONE ?? 200);
/**
 * Mentions each server handles before anything is measured, as a server that has been up a while
 * has: V8 is still compiling (in the background, on threads at normal priority) through a new
 * process's first thousands of mentions, and a bench that measures them measures start-up.
 */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2_000);

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

/** Waits until the server's inbox holds nothing (every entry handled and deleted), then a moment. */
async function drained(redis: Redis, prefix: string): Promise<void> {
  while ((await redis.xlen(`${prefix}{inbox}:inbox`)) > 0) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
}

/** Redis's CPU time so far, ms (user and system, from INFO). */
async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1_000;
}

async function latency(stand: Stand, redis: Redis): Promise<void> {
  const cpuNow = async (p: Spawned) => ({
    server: readThreadCpu(p.child.pid ?? 0),
    consumer: readThreadCpu(Number(p.said.inboxPid ?? 0)),
    slack: readThreadCpu(standIn.child.pid ?? 0),
    redis: await redisCpu(redis),
  });
  const niced = await spawnPatchbay({ stand, secret: SECRET, port: await freePort() });
  const idle = await spawnPatchbay({ stand, secret: SECRET, port: await freePort(), inboxPriority: 'idle' });
  // BENCH_BASELINE=<a checkout of an earlier commit, its node_modules installed>: its server too.
  const baseline = process.env.BENCH_BASELINE
    ? await spawnPatchbay({
        stand,
        secret: SECRET,
        port: await freePort(),
        checkout: process.env.BENCH_BASELINE,
      })
    : undefined;
  const bolt = await spawnProcess('bench/bare-bolt.ts', [], {
    SLACK_SIGNING_SECRET: SECRET,
    PORT: String(await freePort()),
  });
  // Each block is sent to one of them, and the next starts once that one's inbox is drained: each
  // is measured under its own load, none under the work another left behind. Bare Bolt comes last.
  const patchbays = [
    { name: 'Patchbay (durable ack; consumer process at nice 10)', p: niced },
    { name: 'Patchbay, consumer process at idle priority', p: idle },
    ...(baseline
      ? [{ name: `Patchbay at ${process.env.BENCH_BASELINE_NAME ?? 'the baseline'}`, p: baseline }]
      : []),
  ];
  const targets = [...patchbays, { name: 'bare Bolt (empty listener, early ack)', p: bolt }];
  const under = targets.map(() => [] as number[]);
  // CPU spent during each server's measured blocks (and its inbox's draining), in ms: the server's
  // main thread and its other threads, its consumer (a process of its own, or a thread of the
  // server's at a lower priority, as before), the Slack stand-in, Redis.
  const spent = targets.map(() => ({ main: 0, helpers: 0, consumer: 0, slack: 0, redis: 0 }));
  const alone = targets.map(() => [] as number[]);
  const acked = new Map<Spawned, string[]>(patchbays.map((t) => [t.p, []]));
  const send = async (i: number, first: number, count: number, into: number[][]) => {
    const target = targets[i];
    if (!target) return;
    const before = await cpuNow(target.p);
    const sent = await burst(() => target.p.base, first, count);
    into[i]?.push(...sent.filter((s) => s.ok).map((s) => s.ms));
    acked.get(target.p)?.push(...sent.filter((s) => s.ok).map((s) => s.eventId));
    if (acked.has(target.p)) await drained(redis, target.p.prefix);
    const after = await cpuNow(target.p);
    const counted = spent[i];
    if (into !== under || !counted) return;
    const server = cpuBetween(before.server, after.server, target.p.child.pid ?? 0);
    counted.main += server.main;
    counted.helpers += server.total - server.lowered - server.main;
    counted.consumer += server.lowered + after.consumer.total - before.consumer.total;
    counted.slack += after.slack.total - before.slack.total;
    counted.redis += after.redis - before.redis;
  };
  try {
    // Warm-up (connections, JIT), not counted.
    for (let n = 0; n < WARMUP; n += BLOCK) {
      for (let i = 0; i < targets.length; i++) await send(i, 2_000_000 + n, Math.min(BLOCK, WARMUP - n), []);
    }
    for (let n = 0; n < MENTIONS; n += BLOCK) {
      for (let i = 0; i < targets.length; i++) await send(i, 1_000 + n, Math.min(BLOCK, MENTIONS - n), under);
    }
    // One at a time, 60 ms apart: the answer's own cost, alone.
    for (let n = 0; n < ALONE; n++) {
      for (let i = 0; i < targets.length; i++) await send(i, 500_000 + n, 1, alone);
    }
    console.log(`\n| ${ALONE} mentions each, one at a time | answered | p50 ms | p99 ms | max ms |`);
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const [i, t] of targets.entries()) console.log(row(t.name, alone[i] ?? []));
    console.log(
      `\n| ${MENTIONS} mentions each, ${RATE}/s, blocks of ${BLOCK} | answered | p50 ms | p99 ms | max ms |`,
    );
    console.log('| --- | ---: | ---: | ---: | ---: |');
    for (const [i, t] of targets.entries()) console.log(row(t.name, under[i] ?? []));
    const bare = under[targets.length - 1] ?? [];
    const ratio = (xs: number[], q: number) => (quantile(xs, q) / quantile(bare, q)).toFixed(2);
    for (const [i, t] of patchbays.entries()) {
      const xs = under[i] ?? [];
      console.log(`| ${t.name} ÷ bare Bolt | | ${ratio(xs, 0.5)}× | ${ratio(xs, 0.99)}× | |`);
    }
    console.log(
      `\n| CPU per mention, ms (during each server's blocks) | server's main thread | its other threads (V8's, libuv's) | consumer | Slack stand-in | Redis | all |`,
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [i, t] of targets.entries()) {
      const c = spent[i];
      const n = under[i]?.length ?? 0;
      if (!c || n === 0) continue;
      const per = (ms: number) => (ms / n).toFixed(2);
      const all = c.main + c.helpers + c.consumer + c.slack + c.redis;
      console.log(
        `| ${t.name} | ${per(c.main)} | ${per(c.helpers)} | ${per(c.consumer)} | ${per(c.slack)} | ${per(c.redis)} | ${per(all)} |`,
      );
    }
    console.log(`\nload average (1 min): ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores`);
    for (const t of patchbays) {
      const ids = acked.get(t.p) ?? [];
      const counted = await countTasks(redis, t.p.prefix, ids, ids.length);
      console.log(
        `${t.name}: acknowledged ${ids.length}; tasks ${counted.tasks}; acknowledged without a task ${counted.missing}; extra tasks ${counted.extra}`,
      );
    }
  } finally {
    for (const t of targets) await stopProcess(t.p);
    for (const t of patchbays) await forget(redis, t.p.prefix);
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
  await forget(redis, prefix);
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
if (process.env.BENCH_STAND_IN_NICE)
  setPriority(standIn.child.pid ?? 0, Number(process.env.BENCH_STAND_IN_NICE));
const redis = new Redis(REDIS_URL);
// BENCH_CLIENT_NICE=-10 (as root): the process that sends and times the mentions runs ahead of the
// servers it measures, so that its own waits for a core are not counted as theirs.
if (process.env.BENCH_CLIENT_NICE) setPriority(Number(process.env.BENCH_CLIENT_NICE));
try {
  await latency(stand, redis);
  await crash(stand, redis);
} finally {
  redis.disconnect();
  standIn.child.kill('SIGTERM');
}
