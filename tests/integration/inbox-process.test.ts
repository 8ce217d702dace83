import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, getPriority, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { runQueueWaitNs } from '../../src/lib/run-queue-wait.js';
import { createRedisInbox } from '../../src/queue/redis-inbox.js';
import { startInboxProcess } from '../../src/start-inbox-process.js';
import { REDIS_URL } from '../fakes/redis.js';
import { eventually } from '../fakes/slack-requests.js';

const redis = new Redis(REDIS_URL);
afterAll(() => redis.disconnect());

/**
 * Linux's scheduling of each thread of a process (V8's and libuv's helper threads as well as the main
 * one): its policy (5: SCHED_IDLE, 0: normal) and nice, the distinct ones.
 */
function scheduling(pid: number | undefined): Array<{ policy: number; nice: number }> {
  const seen = new Map<string, { policy: number; nice: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command's closing parenthesis start at field 3; nice is 19, policy 41.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const one = { nice: Number(fields[19 - 3]), policy: Number(fields[41 - 3]) };
    seen.set(JSON.stringify(one), one);
  }
  return [...seen.values()];
}

/** The inbox process's nice value at `nice`: 10 below this process's. */
const NICE = Math.min(19, getPriority() + 10);

/** Where the process can take idle priority: util-linux's chrt, and /proc's scheduler statistics to watch it. */
const canIdle =
  process.platform === 'linux' &&
  spawnSync('chrt', ['--version']).status === 0 &&
  runQueueWaitNs(process.pid) !== undefined;

/** A patchbay.yml and the environment the process reads, as `patchbay server` has them; an inbox. */
async function setUp(name: string) {
  const dir = await mkdtemp(join(tmpdir(), 'patchbay-inbox-process-'));
  const id = randomBytes(4).toString('hex');
  const prefix = `pbtest:${name}:${id}:`;
  await writeFile(join(dir, 'patchbay.yml'), 'repositories:\n  - name: acme/web\n');
  // The process reads its configuration from the environment it inherits, as `patchbay server`'s does.
  Object.assign(process.env, {
    REDIS_URL,
    PATCHBAY_CONFIG: join(dir, 'patchbay.yml'),
    PATCHBAY_DATA_DIR: join(dir, 'data'),
    PATCHBAY_REDIS_PREFIX: prefix,
    PATCHBAY_QUEUE: `pbtest-${name}-${id}`,
    LOG_LEVEL: 'error',
  });
  const lines: string[] = [];
  const log = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(line) },
  });
  const inbox = createRedisInbox({ redis, prefix });
  const accept = (n: number) =>
    inbox.accept({
      kind: 'task',
      taskId: `t-${id}-${n}`,
      payload: {
        repo: 'acme/web',
        instruction: `fix greet ${n}`,
        conversation: `api:c-${id}-${n}`,
        origin: { source: 'api', label: 'HTTP API', ref: {} },
      },
    });
  const made = (n: number) =>
    eventually(
      async () => (await redis.exists(`${prefix}task:t-${id}-${n}`)) === 1 || null,
      30_000,
      `task ${n}`,
    );
  return {
    dir,
    id,
    lines,
    log,
    inbox,
    accept,
    made,
    async cleanUp() {
      await rm(dir, { recursive: true, force: true });
      const keys = [...(await redis.keys(`${prefix}*`)), ...(await redis.keys(`bull:pbtest-${name}-${id}*`))];
      if (keys.length > 0) await redis.del(...keys);
    },
  };
}

describe('the inbox process', () => {
  it('makes the tasks of accepted requests, every thread of it below the server, and is started again when it dies', async () => {
    const { id, lines, log, inbox, accept, made, cleanUp } = await setUp('process');
    const consumer = await startInboxProcess(log, { claimIdleMs: 200 });
    try {
      // The process runs 10 below this one's priority: all its threads, V8's included.
      const { applied, pid } = consumer.priority();
      expect(applied).toBe('nice');
      expect(pid).toBe(consumer.current()?.pid);
      expect(scheduling(pid)).toEqual([{ policy: 0, nice: NICE }]);
      await accept(1);
      await made(1);
      const first = consumer.current();
      first?.kill('SIGKILL');
      await accept(2);
      await made(2);
      const second = consumer.current();
      await consumer.stop();

      expect(first).toBeDefined();
      expect(second).toBeDefined();
      expect(second?.pid).not.toBe(first?.pid);
      expect(first?.signalCode).toBe('SIGKILL');
      expect(second?.exitCode).toBe(0);
      expect(lines.some((l) => l.includes('the inbox process stopped; starting it again'))).toBe(true);
      expect((await inbox.accepted(`t-${id}-2`))?.made).toBe(true);
    } finally {
      await consumer.stop();
      await cleanUp();
    }
  }, 60_000);

  it.runIf(canIdle)(
    'asked for idle priority, takes it for every thread, and is replaced by one at nice 10 when it starves, which goes on while the machine stays busy',
    async () => {
      const { id, lines, log, inbox, accept, made, cleanUp } = await setUp('starve');
      const consumer = await startInboxProcess(log, {
        priority: 'idle',
        starvedAfterMs: 300,
        claimIdleMs: 500,
      });
      const burners: ChildProcess[] = [];
      const stopBurners = () => {
        for (const b of burners) b.kill('SIGKILL');
      };
      try {
        const idle = consumer.current();
        expect(consumer.priority().applied).toBe('idle');
        // Every thread of it at SCHED_IDLE.
        expect(scheduling(consumer.priority().pid)).toEqual([{ policy: 5, nice: getPriority() }]);
        await accept(0);
        await made(0);
        // Every core busy, even at a lowered priority (nice 5, so that the tests running beside
        // this one keep most of the machine): an idle process gets next to nothing.
        for (let i = 0; i < availableParallelism(); i++) {
          const burner = spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' });
          burners.push(burner);
          if (burner.pid) setPriority(burner.pid, Math.max(5, getPriority()));
        }
        // Entries keep the idle process wanting a core; it waits on the run queue until replaced.
        let sent = 0;
        const replaced = () => consumer.current() !== idle;
        while (!replaced()) {
          await accept(++sent);
          await new Promise((r) => setTimeout(r, 200));
        }
        // The process at nice makes tasks while every core is still busy.
        await accept(++sent);
        await made(sent);
        stopBurners();
        for (let n = 0; n <= sent; n++) await made(n);

        expect(lines.some((l) => l.includes('a process at nice takes its place'))).toBe(true);
        expect(consumer.priority().applied).toBe('nice');
        expect(scheduling(consumer.priority().pid)).toEqual([{ policy: 0, nice: NICE }]);
        // Each entry acknowledged (its accepted record marked made) once its task and job exist.
        for (let n = 0; n <= sent; n++) {
          await eventually(
            async () => (await inbox.accepted(`t-${id}-${n}`))?.made || null,
            30_000,
            `entry ${n}`,
          );
        }
        const keys = await redis.keys(`pbtest:starve:${id}:task:*`);
        expect(keys).toHaveLength(sent + 1);
      } finally {
        stopBurners();
        await consumer.stop();
        await cleanUp();
      }
    },
    120_000,
  );
});
