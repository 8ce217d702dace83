import { automationQueueName } from './build-automations.js';
import type { ScheduleConfig } from './config/automation-schema.js';
import { type Config, loadConfig } from './config/load-config.js';
import { PatchbayError } from './domain/errors.js';
import type { ScheduleState } from './domain/schedule.js';
import { createAutomationQueue, type ScheduledTick } from './queue/automation-queue.js';
import { clusterNames, connectRedis } from './queue/redis-connection.js';
import { createRedisScheduleStore } from './queue/redis-schedule-store.js';

const USAGE = 'usage: patchbay schedules [run|pause|resume <name>]';

/**
 * `patchbay schedules`: each schedule of patchbay.yml with its next and last run and its status;
 * `run <name>` queues a run now (a worker takes it, paused or not), `pause <name>` and `resume
 * <name>` stop and restart its ticks (resuming forgets its failures in a row).
 */
export async function runSchedulesCommand(
  args: string[],
  opts: { env: Record<string, string | undefined>; out: NodeJS.WritableStream; now?: () => number },
): Promise<void> {
  const config = await loadConfig(opts.env);
  const [action, name, ...rest] = args;
  if (rest.length || (action && !name) || (action && !['run', 'pause', 'resume'].includes(action))) {
    throw new PatchbayError('invalid_request', USAGE);
  }
  const schedule = name ? findSchedule(config, name) : undefined;
  const target = { url: config.env.REDIS_URL, cluster: config.env.PATCHBAY_REDIS_CLUSTER };
  const redis = connectRedis(target, { maxRetriesPerRequest: 2, lazyConnect: true });
  await redis.connect().catch((err: Error) => {
    throw new PatchbayError('internal', `cannot reach Redis at REDIS_URL: ${err.message}`);
  });
  const { prefix, queueName } = clusterNames(target, {
    prefix: config.env.PATCHBAY_REDIS_PREFIX,
    queueName: config.env.PATCHBAY_QUEUE,
  });
  const queue = createAutomationQueue({ connection: redis, name: automationQueueName(queueName) });
  const store = createRedisScheduleStore({ redis, prefix });
  const say = (line: string) => opts.out.write(`${line}\n`);
  try {
    if (!schedule) {
      const ticks = new Map((await queue.scheduledTicks()).map((t) => [t.name, t]));
      const rows = [];
      for (const s of config.file.schedules)
        rows.push(describe(s, ticks.get(s.name), await store.get(s.name)));
      for (const t of ticks.values()) {
        if (!config.file.schedules.some((s) => s.name === t.name)) {
          rows.push([t.name, t.pattern ?? '', '', '', '', 'not in patchbay.yml: removed at the next start']);
        }
      }
      say(rows.length ? table([HEADER, ...rows]) : 'No schedules: add `schedules:` to patchbay.yml.');
      return;
    }
    if (action === 'run') {
      await queue.runNow(schedule.name, (opts.now ?? Date.now)());
      say(`Queued a run of ${schedule.name}; a worker starts it.`);
    } else if (action === 'pause') {
      const paused = await store.pause(schedule.name, 'person');
      say(
        paused
          ? `Paused ${schedule.name}: no runs until it is resumed.`
          : `${schedule.name} was paused already.`,
      );
    } else {
      const resumed = await store.resume(schedule.name);
      say(resumed ? `Resumed ${schedule.name}.` : `${schedule.name} was not paused.`);
    }
  } finally {
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
}

function findSchedule(config: Config, name: string): ScheduleConfig {
  const schedule = config.file.schedules.find((s) => s.name === name);
  if (schedule) return schedule;
  const known = config.file.schedules.map((s) => s.name).join(', ') || 'none';
  throw new PatchbayError('invalid_request', `no schedule ${name} in patchbay.yml`, {
    hint: `schedules: ${known}`,
  });
}

const HEADER = ['NAME', 'CRON', 'REPOSITORY', 'NEXT RUN', 'LAST RUN', 'STATUS'];

function describe(s: ScheduleConfig, tick: ScheduledTick | undefined, state: ScheduleState): string[] {
  const cron = `${s.cron} (${s.timezone})`;
  const changed = tick && (tick.pattern !== s.cron || tick.tz !== s.timezone);
  const next = !tick || tick.next === null ? 'not scheduled yet (at the next start)' : when(tick.next);
  const last = state.lastRun
    ? `${when(state.lastRun.tick)} ${state.lastOutcome ?? 'not finished'} (${state.lastRun.taskId})`
    : 'never';
  return [
    s.name,
    cron,
    s.repository,
    changed ? `${next}; patchbay.yml changed: applied at the next start` : next,
    last,
    status(state),
  ];
}

function status(state: ScheduleState): string {
  if (state.paused) return state.pausedBy === 'failures' ? 'paused after failing in a row' : 'paused';
  if (state.failuresInRow > 0) return `active, ${state.failuresInRow} failed in a row`;
  return 'active';
}

const when = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/:\d\d\.\d{3}Z$/, ' UTC');

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
