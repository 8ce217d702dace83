/** The processes bench/ack.ts measures, and its count of tasks per acknowledged mention. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { shortHash } from '../src/lib/ids.js';
import { freePort } from '../tests/fakes/free-port.js';
import { REDIS_URL } from '../tests/fakes/redis.js';

export { freePort };

export interface Spawned {
  child: ChildProcess;
  base: string;
  prefix: string;
  /** The JSON line it printed once listening (`{"port":N,…}`). */
  said: Record<string, unknown>;
}

/** A TypeScript entry in a process of its own; resolves once it printed `{"port":N}`. */
export async function spawnProcess(
  entry: string,
  args: string[],
  env: Record<string, string>,
): Promise<Spawned> {
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const child = spawn(
    process.execPath,
    [...profile, '--import', import.meta.resolve('tsx'), entry, ...args],
    {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const said = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /^\{"port":.*\}$/m.exec(out);
      if (found) resolve(JSON.parse(found[0]) as Record<string, unknown>);
    });
    child.once('exit', (code) => reject(new Error(`${entry} exited (${code}) before listening`)));
  });
  return { child, base: `http://127.0.0.1:${said.port}`, prefix: env.PATCHBAY_REDIS_PREFIX ?? '', said };
}

/** `patchbay server` (tests/fakes/server-process.ts) with Slack in HTTP mode against the stand-in. */
export async function spawnPatchbay(opts: {
  stand: { token: string; url: string };
  secret: string;
  port: number;
  prefix?: string;
  claimIdleMs?: number;
  /** How the inbox consumer's process yields the CPU (default the server's: nice 10). */
  inboxPriority?: 'idle' | 'nice';
  /** The directory of another checkout whose server runs instead (a baseline from an earlier commit). */
  checkout?: string;
}): Promise<Spawned> {
  const dir = await mkdtemp(join(tmpdir(), 'patchbay-bench-ack-'));
  const config = join(dir, 'patchbay.yml');
  await writeFile(config, JSON.stringify({ repositories: [{ name: 'acme/web' }] }));
  const id = randomBytes(4).toString('hex');
  const prefix = opts.prefix ?? `pbbench:ack:${id}:`;
  const args = opts.claimIdleMs ? [`--claim-idle-ms=${opts.claimIdleMs}`] : [];
  if (opts.inboxPriority) args.push(`--inbox-priority=${opts.inboxPriority}`);
  return spawnProcess(join(opts.checkout ?? '.', 'tests/fakes/server-process.ts'), args, {
    REDIS_URL,
    PORT: String(opts.port),
    PATCHBAY_CONFIG: config,
    PATCHBAY_DATA_DIR: join(dir, 'data'),
    PATCHBAY_REDIS_PREFIX: prefix,
    PATCHBAY_QUEUE: `pbbench-ack-${prefix.split(':')[2] ?? id}`,
    SLACK_BOT_TOKEN: opts.stand.token,
    SLACK_SIGNING_SECRET: opts.secret,
    SLACK_API_URL: opts.stand.url,
    GITHUB_TOKEN: 'ghp_bench',
    OPENAI_API_KEY: 'sk-bench',
    LOG_LEVEL: 'error',
  });
}

/**
 * Deletes what a measured server left in Redis (its prefix's keys and its BullMQ queue's), so that
 * runs do not pile up tens of thousands of keys that slow the next run's count.
 */
export async function forget(redis: Redis, prefix: string): Promise<void> {
  const queue = `bull:pbbench-ack-${prefix.split(':')[2] ?? ''}`;
  for (const pattern of [`${prefix}*`, `${queue}:*`]) {
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
      cursor = next;
      if (batch.length > 0) await redis.unlink(...batch);
    } while (cursor !== '0');
  }
}

async function taskKeys(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}task:*`, 'COUNT', 1_000);
    cursor = next;
    keys.push(...batch.filter((k) => !k.slice(prefix.length + 5).includes(':')));
  } while (cursor !== '0');
  return keys;
}

/**
 * Waits (up to 60 s) for at least `expected` task records, then counts: tasks, acknowledged mentions
 * whose delivery names no task, and tasks beyond one per mention.
 */
export async function countTasks(redis: Redis, prefix: string, eventIds: string[], expected: number) {
  const until = Date.now() + 60_000;
  let keys = await taskKeys(redis, prefix);
  while (keys.length < expected && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    keys = await taskKeys(redis, prefix);
  }
  const owners = await Promise.all(
    eventIds.map((e) => redis.get(`${prefix}{inbox}:inbox-delivery:${shortHash(`slack:${e}`, 32)}`)),
  );
  const made = await Promise.all(owners.map((o) => (o ? redis.exists(`${prefix}task:${o}`) : 0)));
  const distinct = new Set(owners.filter(Boolean));
  return {
    tasks: keys.length,
    missing: made.filter((m) => m === 0).length,
    extra: keys.length - distinct.size,
  };
}
