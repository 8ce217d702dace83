import { hostname } from 'node:os';
import { buildAutomations, createTellRouter } from './build-automations.js';
import { buildGitHubAccess, buildWritePace, type GitHubAccess } from './build-github-access.js';
import { buildIntegrations } from './build-integrations.js';
import type { Config } from './config/load-config.js';
import { readSetupEnv, setupEnvSecrets } from './config/setup-env-for.js';
import { PatchbayError } from './domain/errors.js';
import type { Reporter, TellPlaces } from './domain/events.js';
import { type Clock, systemClock } from './lib/clock.js';
import { newTaskId } from './lib/ids.js';
import type { Logger } from './lib/logger.js';
import { createRedactor } from './lib/redact.js';
import { createRedisCancelBus } from './queue/redis-cancel-bus.js';
import { clusterNames, connectRedis, duplicateRedis } from './queue/redis-connection.js';
import { createRedisConversationStore } from './queue/redis-conversation-store.js';
import { createRedisIdempotencyStore } from './queue/redis-idempotency-store.js';
import { createRedisInbox } from './queue/redis-inbox.js';
import { createRedisKeyValue } from './queue/redis-key-value.js';
import { createRedisMetrics } from './queue/redis-metrics.js';
import { createRedisTaskDiffs } from './queue/redis-task-diffs.js';
import { createRedisTaskStore } from './queue/redis-task-store.js';
import { createRedisTaskTimeline } from './queue/redis-task-timeline.js';
import { createTaskQueue } from './queue/task-queue.js';
import { upstreamSecrets } from './sandbox/egress-upstream.js';
import {
  type DashboardStats,
  type DashboardStatsOptions,
  readDashboardStats,
} from './server/dashboard-stats.js';
import type { TaskServices } from './server/integration.js';
import { deriveSessionKey } from './server/sessions.js';
import { acceptedTask, createTaskEntryHandler, TASK_ENTRY, untilMade } from './tasks/accepted-task.js';
import { cancelTask } from './tasks/cancel-task.js';
import { createConversationDoor } from './tasks/conversation-door.js';
import { startInboxConsumer } from './tasks/inbox-consumer.js';
import { createLogReporter } from './tasks/log-reporter.js';
import { countCancelled, createMetricsObserver } from './tasks/metrics-observer.js';
import { createEventRouter } from './tasks/route-events.js';
import type { TickOutcome } from './tasks/run-schedule-tick.js';
import { submitTask } from './tasks/submit-task.js';
import { createTimelineWriter } from './tasks/timeline-writer.js';

export interface StartOptions {
  config: Config;
  log: Logger;
  server: boolean;
  worker: boolean;
  /** Redis key prefix and queue name (default: PATCHBAY_REDIS_PREFIX, PATCHBAY_QUEUE). */
  prefix?: string;
  queueName?: string;
  /** Attempts per run and first backoff delay (default 4 and 5 s). */
  retry?: { attempts: number; backoffMs: number };
  /** Reporters for the tasks of a source that no place hears about (tests, the demo's terminal). */
  reporters?: Partial<Record<string, Reporter>>;
  /**
   * The clock the integrations' own timers run on: the reporters' edit spacing and coalescing, and
   * Linear's first-thought and webhook-answer deadlines; and the metrics' (stage and webhook timings,
   * heartbeats, days of spend). Default the system's; tests may hold it still.
   */
  clock?: Clock;
  /**
   * The inbox's consumer (default: in server processes): `consume: false` starts none, so that
   * accepted requests stay in the inbox (tests of a crash between the answer and the task; a server
   * whose consumer runs in a process of its own), `consume: true` starts one in a process that is
   * neither server nor worker (that process, src/inbox-process.ts); `claimIdleMs`, how long a
   * dead consumer's entries wait before another takes them (default 30 s); `beforeHandle`, run before
   * each entry is handled (tests: a server that dies holding entries it read).
   */
  inbox?: { consume?: boolean; claimIdleMs?: number; beforeHandle?: () => Promise<void> };
  /** 'off' runs the worker's tasks without cgroups, as on a host that has none (tests). */
  cgroups?: 'auto' | 'off';
  /** Where repositories' `setup_env` values are read from (default process.env). */
  hostEnv?: Record<string, string | undefined>;
}

export interface Running {
  port: number | undefined;
  sandboxDescription: string | undefined;
  /** The start-up line on task limits: which hold and how. */
  limitsDescription: string | undefined;
  /** The dashboard's numbers (tasks running and queued, workers alive, queue wait, spend, failures). */
  dashboardStats(opts?: DashboardStatsOptions): Promise<DashboardStats>;
  /** Handles one tick of a schedule now, as the automations' worker does when it is due (tests). */
  scheduleTick(tick: { name: string; at: number; manual?: boolean }, clock?: Clock): Promise<TickOutcome>;
  /** Graceful stop: no new work, running tasks back to the queue, connections closed. */
  stop(): Promise<void>;
}

/** Composition root: config → clients → wiring → start. SDK clients are built here and in build-*.ts. */
export async function startPatchbay(opts: StartOptions): Promise<Running> {
  const { config, log } = opts;
  const env = config.env;
  const target = { url: env.REDIS_URL, cluster: env.PATCHBAY_REDIS_CLUSTER };
  const { prefix, queueName } = clusterNames(target, {
    prefix: opts.prefix ?? env.PATCHBAY_REDIS_PREFIX,
    queueName: opts.queueName ?? env.PATCHBAY_QUEUE,
  });
  const retentionDays = config.file.retention_days;
  // First: a worker refused its sandbox or its limits (PATCHBAY_REQUIRE_LIMITS) opens nothing.
  const workerSandbox = opts.worker
    ? await (await import('./build-worker-deps.js')).buildWorkerSandbox(config, log, {
        cgroups: opts.cgroups,
      })
    : undefined;
  const redis = connectRedis(target, {
    maxRetriesPerRequest: 2,
    enableOfflineQueue: false,
    lazyConnect: true,
  });
  await redis.connect().catch((err: Error) => {
    throw new PatchbayError('internal', `cannot reach Redis at REDIS_URL: ${err.message}`, {
      hint: 'start Redis (redis-server) or point REDIS_URL at one',
    });
  });
  const store = createRedisTaskStore({ redis, prefix, retentionDays });
  const conversations = createRedisConversationStore({ redis, prefix, retentionDays });
  const idempotency = createRedisIdempotencyStore({ redis, prefix });
  const cancels = createRedisCancelBus({ redis, prefix });
  const queue = createTaskQueue({ connection: redis, name: queueName, retry: opts.retry });
  const clock = opts.clock ?? systemClock;
  const metrics = createRedisMetrics({
    redis,
    prefix,
    clock,
    retentionDays,
    jobCounts: () => queue.queue.getJobCounts(),
  });
  const sessionKey = deriveSessionKey({
    apiToken: env.PATCHBAY_API_TOKEN,
    clientSecret: env.GITHUB_CLIENT_SECRET,
  });
  const setupEnv = readSetupEnv(config.file, opts.hostEnv ?? process.env);
  const redact = createRedactor([...secretValues(env, sessionKey), ...setupEnvSecrets(setupEnv)]);
  const automations = buildAutomations({ config, redis, prefix, queueName, clock, log });
  // The timeline and diff each task keeps, written by the worker (redacted), read by any server.
  const capBytes = config.file.limits.timeline_kb * 1024;
  const timeline = createRedisTaskTimeline({ redis, prefix, retentionDays, capBytes, log });
  const diffs = createRedisTaskDiffs({ redis, prefix, retentionDays });
  const writer = createTimelineWriter({ timeline, diffs, redact, capBytes, log });
  // A server answers Slack and the API on a connection of its own: the one round trip before the
  // answer queues behind nothing the consumer, the pages or BullMQ sent on the shared one.
  const answerRedis = opts.server ? duplicateRedis(redis, { lazyConnect: true }) : undefined;
  await answerRedis?.connect();
  const inbox = createRedisInbox({ redis, acceptRedis: answerRedis, prefix });
  const cancel = async (id: string) => {
    await untilMade(inbox, id);
    const task = await cancelTask({ store, conversations, queue, cancels, timeline: writer }, id);
    await countCancelled(metrics, config.models.default.name, task).catch((err: Error) =>
      log.warn({ taskId: id, err: err.message }, 'could not count the cancelled task'),
    );
    return task;
  };
  const submitDeps = { config, store, conversations, idempotency, queue, timeline: writer, log };
  const tasks: TaskServices = {
    submit: (input, submitOpts) => submitTask(submitDeps, input, submitOpts),
    accept: inbox.accept,
    cancel,
    getTask: async (id) => (await store.get(id)) ?? (await acceptedTask(inbox, id)),
    conversations: createConversationDoor({ store, conversations, cancel }),
  };
  // The worker's GitHub clients, shared with the GitHub reporter: replies are spaced after PR writes.
  let github: GitHubAccess | undefined;
  const writePace = buildWritePace(config, { redis, prefix, log });
  const githubAccess = () => {
    github ??= buildGitHubAccess(env, log, writePace);
    return github;
  };
  // Integrations tell each other's places (an autofix tells the Slack thread its conversation began
  // in); the router over all of them exists once they do.
  let tell: TellPlaces = async () => undefined;
  const integrations = await buildIntegrations(
    {
      config,
      tasks,
      kvFor: (namespace) => createRedisKeyValue({ redis, prefix, namespace }),
      tell: (places, text) => tell(places, text),
      alarmsFor: automations.alarmsFor,
      redact,
      log,
      clock: opts.clock,
      writePace,
    },
    githubAccess,
  );
  tell = createTellRouter({ integrations, githubAccess, log });
  const tick = automations.tickHandler({
    submit: tasks.submit,
    conversations,
    activeTask: tasks.conversations.activeTask,
    githubAccess,
    integrations,
  });
  const reporter = createEventRouter({
    audience: (taskId) => store.audience(taskId),
    places: integrations.flatMap((i) => (i.reporter ? [i.reporter] : [])),
    fallback: createLogReporter(log),
    bySource: opts.reporters,
    observers: [
      writer.observer,
      createMetricsObserver({ metrics, model: config.models.default.name, clock, redact }),
      automations.observer({ audience: (taskId) => store.audience(taskId), conversations, tell }),
      ...integrations.flatMap((i) => (i.observer ? [i.observer] : [])),
    ],
    log,
  });
  const stops: Array<() => Promise<void>> = [];
  let firstStop: (() => Promise<void>) | undefined;

  let port: number | undefined;
  if (opts.server) {
    // The HTTP side (pages, their markdown stack, the metrics registry) is imported only where it runs.
    const { startServer } = await import('./start-server.js');
    const server = await startServer({
      ...{ config, log, redis, prefix, clock, givenClock: opts.clock, sessionKey, tasks, submitDeps, inbox },
      ...{ store, timeline, diffs, metrics, automations, integrations, githubAccess },
    });
    port = server.port;
    stops.push(server.stop);
  }
  // A server's, unless it runs in a process of its own (start-inbox-process.ts: `consume: true` there).
  if (opts.inbox?.consume ?? opts.server) {
    const consumer = startInboxConsumer({
      reader: inbox.reader(`${hostname()}-${process.pid}-${newTaskId()}`),
      handlers: {
        [TASK_ENTRY]: createTaskEntryHandler({ ...submitDeps, inbox }),
        ...Object.assign({}, ...integrations.map((i) => i.inboxHandlers ?? {})),
      },
      observeLag: metrics.observeInboxLag,
      clock,
      log,
      claimIdleMs: opts.inbox?.claimIdleMs,
      beforeHandle: opts.inbox?.beforeHandle,
    });
    // First of all: no entry is taken while the integrations its handlers call are stopping.
    firstStop = consumer.stop;
  }

  if (workerSandbox) {
    // The worker's side (agent, model client, sandbox, workspaces) is imported only where it runs.
    const { startWorker } = await import('./start-worker.js');
    const worker = await startWorker({
      ...{ config, log, redis, prefix, queueName, clock, sandbox: workerSandbox, githubAccess, setupEnv },
      ...{ store, conversations, cancels, reporter, writer, redact, automations, integrations },
      tick: (t) => tick(t),
    });
    stops.push(worker.stop);
  }

  for (const integration of integrations) {
    await integration.start?.();
    stops.unshift(async () => integration.stop?.());
  }
  // A process that only consumes the inbox (a server's inbox process) leaves this to its server.
  await (opts.server || opts.worker ? automations.reconcile() : Promise.resolve()).catch((err: Error) =>
    log.warn({ err: err.message }, 'could not reconcile the schedules with patchbay.yml'),
  );

  return {
    port,
    sandboxDescription: workerSandbox?.description,
    limitsDescription: workerSandbox?.limits,
    dashboardStats: (statsOpts) => readDashboardStats({ source: metrics, clock }, statsOpts),
    scheduleTick: (t, at) => tick({ ...t, manual: t.manual ?? false }, at),
    async stop() {
      for (const stop of [...(firstStop ? [firstStop] : []), ...stops])
        await stop().catch((err) => log.warn({ err: err.message }, 'stop step failed'));
      await writer.flushAll(1_500);
      await metrics.flush().catch(() => undefined);
      await timeline.close();
      await cancels.close();
      await store.close();
      await queue.close().catch(() => undefined);
      await automations.close().catch(() => undefined);
      answerRedis?.disconnect();
      redis.disconnect();
    },
  };
}

/** Every configured credential: none of them may appear in a stored or reported error, nor in a timeline. */
export function secretValues(env: Config['env'], sessionKey: string | undefined): Array<string | undefined> {
  return [
    sessionKey,
    env.GITHUB_CLIENT_SECRET,
    env.GITHUB_TOKEN,
    env.GITHUB_APP_PRIVATE_KEY,
    env.GITHUB_WEBHOOK_SECRET,
    env.OPENAI_API_KEY,
    env.PATCHBAY_API_TOKEN,
    env.PATCHBAY_METRICS_TOKEN,
    env.SLACK_BOT_TOKEN,
    env.SLACK_SIGNING_SECRET,
    env.SLACK_APP_TOKEN,
    env.LINEAR_API_KEY,
    env.LINEAR_ACCESS_TOKEN,
    env.LINEAR_CLIENT_SECRET,
    env.LINEAR_WEBHOOK_SECRET,
    ...Object.values(env.hookSecrets),
    ...upstreamSecrets(env.HTTPS_PROXY),
    ...upstreamSecrets(env.HTTP_PROXY),
  ];
}
