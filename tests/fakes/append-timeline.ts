/**
 * Appends notes to a task's timeline from a process of its own, as a worker on another machine would:
 * `node --import tsx tests/fakes/append-timeline.ts <prefix> <taskId> <count>`. It prints `ready`
 * once connected, then appends one note per line read on stdin, and exits when stdin ends.
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { createSilentLogger } from '../../src/lib/logger.js';
import { createRedisTaskTimeline } from '../../src/queue/redis-task-timeline.js';
import { REDIS_URL } from './redis.js';

const [prefix = '', taskId = ''] = process.argv.slice(2);
const redis = new Redis(REDIS_URL);
const timeline = createRedisTaskTimeline({
  redis,
  prefix,
  retentionDays: 1,
  capBytes: 1024 * 1024,
  log: createSilentLogger(),
});
await redis.ping();
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  await timeline.append(taskId, { type: 'note', at: new Date().toISOString(), text: line });
  process.stdout.write(`appended ${line}\n`);
}
await timeline.close();
redis.disconnect();
