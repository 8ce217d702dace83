import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { createRedisInbox } from '../../src/queue/redis-inbox.js';
import { startInboxThread } from '../../src/start-inbox-thread.js';
import { REDIS_URL } from '../fakes/redis.js';
import { eventually } from '../fakes/slack-requests.js';

const redis = new Redis(REDIS_URL);
afterAll(() => redis.disconnect());

describe('the inbox thread', () => {
  it('makes the tasks of accepted requests, and is started again when it dies', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'patchbay-inbox-thread-'));
    const id = randomBytes(4).toString('hex');
    const prefix = `pbtest:thread:${id}:`;
    await writeFile(join(dir, 'patchbay.yml'), 'repositories:\n  - name: acme/web\n');
    // The thread reads its configuration from the environment, as `patchbay server` does.
    Object.assign(process.env, {
      REDIS_URL,
      PATCHBAY_CONFIG: join(dir, 'patchbay.yml'),
      PATCHBAY_DATA_DIR: join(dir, 'data'),
      PATCHBAY_REDIS_PREFIX: prefix,
      PATCHBAY_QUEUE: `pbtest-thread-${id}`,
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

    const thread = await startInboxThread(log, { claimIdleMs: 200 });
    try {
      await accept(1);
      await made(1);
      const first = thread.current();
      await first?.terminate();
      await accept(2);
      await made(2);
      const second = thread.current();
      await thread.stop();

      expect(first).toBeDefined();
      expect(second).toBeDefined();
      expect(second).not.toBe(first);
      expect(lines.some((l) => l.includes('the inbox thread stopped; starting it again'))).toBe(true);
      expect((await inbox.accepted(`t-${id}-2`))?.made).toBe(true);
    } finally {
      await thread.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
