import type { Redis } from 'ioredis';
import type { buildAutomations } from './build-automations.js';
import type { GitHubAccess } from './build-github-access.js';
import { buildWorkerDeps, type WorkerSandbox } from './build-worker-deps.js';
import type { Config } from './config/load-config.js';
import type { Reporter } from './domain/events.js';
import type { ConversationStore, TaskStore } from './domain/ports.js';
import type { Clock } from './lib/clock.js';
import { settleWithin } from './lib/deadline.js';
import type { Logger } from './lib/logger.js';
import { createConversationLock } from './queue/conversation-lock.js';
import type { createRedisCancelBus } from './queue/redis-cancel-bus.js';
import { connectRedis } from './queue/redis-connection.js';
import { createTaskWorker } from './queue/task-worker.js';
import { startWorkerHeartbeat } from './queue/worker-heartbeat.js';
import type { Integration } from './server/integration.js';
import { handleAttempt, recordGiveUp } from './tasks/handle-attempt.js';
import { runTask } from './tasks/run-task.js';
import type { TimelineWriter } from './tasks/timeline-writer.js';

/** What a worker is built from; startPatchbay makes all of it once for the server and the worker. */
export interface WorkerWiring {
  config: Config;
  log: Logger;
  redis: Redis;
  prefix: string;
  queueName: string;
  clock: Clock;
  sandbox: WorkerSandbox;
  githubAccess: () => GitHubAccess;
  store: TaskStore;
  conversations: ConversationStore;
  cancels: ReturnType<typeof createRedisCancelBus>;
  reporter: Reporter;
  writer: TimelineWriter;
  redact: (text: string) => string;
  automations: ReturnType<typeof buildAutomations>;
  tick: (tick: { name: string; at: number; manual: boolean }) => Promise<unknown>;
  integrations: Integration[];
  /** Each repository's setup_env values (read at start). */
  setupEnv: Map<string, Record<string, string>>;
}

/**
 * A worker: the task queue's consumer (each job one attempt, under the conversation's lock), the
 * automations' consumer (schedule ticks, alarms) and the heartbeat. Returns how to stop it: running
 * tasks go back to the queue, the clone pool's refill is given a moment, the task cgroups removed.
 */
export async function startWorker(w: WorkerWiring): Promise<{ stop(): Promise<void> }> {
  const { config, log, redis, prefix, store, conversations, reporter, writer } = w;
  const env = config.env;
  if (w.sandbox.warning) log.warn(w.sandbox.warning);
  log.info({ limits: w.sandbox.limits }, 'task limits');
  const workerDeps = buildWorkerDeps(config, log, w.githubAccess(), {
    sandbox: w.sandbox.sandbox,
    setupEnv: w.setupEnv,
    redact: w.redact,
  });
  const removed = await workerDeps.workspaces.sweepOrphans();
  if (removed) log.info({ removed }, 'removed clones left by dead processes');
  const connection = connectRedis(
    { url: env.REDIS_URL, cluster: env.PATCHBAY_REDIS_CLUSTER },
    { maxRetriesPerRequest: null },
  );
  const locks = createConversationLock({ redis, prefix, ttlMs: env.PATCHBAY_LOCK_MS, log });
  const sandbox = w.sandbox.sandbox;
  const egress = w.sandbox.egress;
  const run = {
    config,
    store,
    conversations,
    sandbox,
    egress,
    reporter,
    timeline: writer,
    log,
    ...workerDeps,
  };
  const worker = createTaskWorker({
    connection,
    name: w.queueName,
    concurrency: env.PATCHBAY_CONCURRENCY,
    lockMs: env.PATCHBAY_LOCK_MS,
    locks,
    cancels: w.cancels,
    log,
    onGiveUp: (taskId, err) => recordGiveUp({ store, reporter }, taskId, err),
    handle: ({ taskId, signal, lastAttempt }) =>
      handleAttempt(
        { store, conversations, reporter, timeline: writer, log, redact: w.redact },
        { taskId, signal, lastAttempt },
        () => runTask(run, { taskId, signal, lastAttempt }),
      ),
  });
  worker.start();
  const automationWorker = w.automations.startWorker({
    connection,
    lockMs: env.PATCHBAY_LOCK_MS,
    tick: w.tick,
    integrations: w.integrations,
  });
  const heartbeat = await startWorkerHeartbeat({ redis, prefix, clock: w.clock, log });
  log.info(
    { concurrency: env.PATCHBAY_CONCURRENCY, sandbox: w.sandbox.description, workerId: heartbeat.id },
    'worker started',
  );
  return {
    async stop() {
      await automationWorker.stop();
      await worker.stop();
      await heartbeat.stop().catch(() => undefined);
      connection.disconnect();
      // A refill writes under the data dir until it ends; SIGTERM's grace bounds the wait.
      await settleWithin(workerDeps.workspaces.poolIdle(), 1_500);
      await w.sandbox.close();
    },
  };
}
