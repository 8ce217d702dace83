import { homedir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { createAgent } from './agent/create-agent.js';
import type { Config } from './config/load-config.js';
import { PatchbayError } from './domain/errors.js';
import type { Reporter } from './domain/events.js';
import { createOctokit } from './integrations/github/create-octokit.js';
import { createPullRequests } from './integrations/github/pull-requests.js';
import type { Logger } from './lib/logger.js';
import { createConversationLock } from './queue/conversation-lock.js';
import { createRedisCancelBus } from './queue/redis-cancel-bus.js';
import { createRedisConversationStore } from './queue/redis-conversation-store.js';
import { createRedisIdempotencyStore } from './queue/redis-idempotency-store.js';
import { createRedisTaskStore } from './queue/redis-task-store.js';
import { createTaskQueue, TASK_QUEUE } from './queue/task-queue.js';
import { createTaskWorker } from './queue/task-worker.js';
import { createSandbox } from './sandbox/create-sandbox.js';
import { probeSandbox } from './sandbox/probe-sandbox.js';
import { registerApiRoutes } from './server/api-routes.js';
import { registerHealthRoutes } from './server/health-routes.js';
import { createHttpServer } from './server/http-server.js';
import { cancelTask } from './tasks/cancel-task.js';
import { handleAttempt } from './tasks/handle-attempt.js';
import { createLogReporter, routeReporters } from './tasks/log-reporter.js';
import { runTask } from './tasks/run-task.js';
import { toSafeReporter } from './tasks/safe-reporter.js';
import { submitTask } from './tasks/submit-task.js';
import { createWorkspaces } from './workspace/create-workspaces.js';
import { tokenCredentials } from './workspace/types.js';

export interface StartOptions {
  config: Config;
  log: Logger;
  server: boolean;
  worker: boolean;
  /** Redis key prefix and queue name; tests give each run its own. */
  prefix?: string;
  queueName?: string;
  /** Reporters by task source, added by integrations. */
  reporters?: Partial<Record<string, Reporter>>;
}

export interface Running {
  port: number | undefined;
  sandboxDescription: string | undefined;
  /** Graceful stop: no new work, running tasks back to the queue, connections closed. */
  stop(): Promise<void>;
}

/** Composition root: config → clients → wiring → start. The only place SDK clients are built. */
export async function startPatchbay(opts: StartOptions): Promise<Running> {
  const { config, log } = opts;
  const env = config.env;
  const prefix = opts.prefix ?? 'patchbay:';
  const queueName = opts.queueName ?? TASK_QUEUE;
  const retentionDays = config.file.retention_days;
  const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 2, enableOfflineQueue: false, lazyConnect: true });
  await redis.connect().catch((err: Error) => {
    throw new PatchbayError('internal', `cannot reach Redis at REDIS_URL: ${err.message}`, {
      hint: 'start Redis (redis-server) or point REDIS_URL at one',
    });
  });
  const store = createRedisTaskStore({ redis, prefix, retentionDays });
  const conversations = createRedisConversationStore({ redis, prefix, retentionDays });
  const idempotency = createRedisIdempotencyStore({ redis, prefix });
  const cancels = createRedisCancelBus({ redis, prefix });
  const queue = createTaskQueue({ connection: redis, name: queueName });
  const reporter = toSafeReporter(routeReporters(opts.reporters ?? {}, createLogReporter(log)), log);
  const stops: Array<() => Promise<void>> = [];

  let port: number | undefined;
  if (opts.server) {
    const http = createHttpServer({ log });
    registerHealthRoutes(http, { pingRedis: () => redis.ping() });
    registerApiRoutes(http, {
      token: env.PATCHBAY_API_TOKEN,
      submit: (input) => submitTask({ config, store, conversations, idempotency, queue, log }, input),
      cancel: (id) => cancelTask({ store, conversations, queue, cancels }, id),
      getTask: (id) => store.get(id),
      log,
    });
    if (!env.PATCHBAY_API_TOKEN) log.info('HTTP API off: PATCHBAY_API_TOKEN is not set');
    port = await http.listen(env.PORT);
    log.info({ port }, 'server listening');
    stops.push(() => http.close());
  }

  let sandboxDescription: string | undefined;
  if (opts.worker) {
    const probe = await probeSandbox({ mode: env.PATCHBAY_SANDBOX });
    sandboxDescription = probe.description;
    if (probe.warning) log.warn(probe.warning);
    const sandbox = createSandbox({ mode: probe.mode, log });
    const workerDeps = buildWorkerDeps(config, log);
    const removed = await workerDeps.workspaces.sweepOrphans();
    if (removed) log.info({ removed }, 'removed clones left by dead processes');
    const workerConnection = new Redis(env.REDIS_URL, { maxRetriesPerRequest: null });
    const locks = createConversationLock({ redis, prefix, ttlMs: env.PATCHBAY_LOCK_MS, log });
    const run = { config, store, conversations, sandbox, reporter, log, ...workerDeps };
    const worker = createTaskWorker({
      connection: workerConnection,
      name: queueName,
      concurrency: env.PATCHBAY_CONCURRENCY,
      lockMs: env.PATCHBAY_LOCK_MS,
      locks,
      cancels,
      log,
      handle: ({ taskId, signal, lastAttempt }) =>
        handleAttempt({ store, conversations, reporter, log }, { taskId, signal, lastAttempt }, () =>
          runTask(run, { taskId, signal }),
        ),
    });
    worker.start();
    log.info({ concurrency: env.PATCHBAY_CONCURRENCY, sandbox: probe.description }, 'worker started');
    stops.push(async () => {
      await worker.stop();
      workerConnection.disconnect();
    });
  }

  return {
    port,
    sandboxDescription,
    async stop() {
      for (const stop of stops) await stop().catch((err) => log.warn({ err: err.message }, 'stop step failed'));
      await cancels.close();
      await queue.close().catch(() => undefined);
      redis.disconnect();
    },
  };
}

/** The worker's clients: git workspaces, the model, GitHub. */
export function buildWorkerDeps(config: Config, log: Logger) {
  const env = config.env;
  if (!env.GITHUB_TOKEN) {
    const hint = env.GITHUB_APP_ID
      ? 'GitHub App auth is not available in this version yet; set GITHUB_TOKEN'
      : 'set GITHUB_TOKEN to a token that may push branches and open pull requests';
    throw new PatchbayError('invalid_config', 'the worker needs GitHub credentials', { hint });
  }
  if (!env.OPENAI_API_KEY && !env.OPENAI_BASE_URL) {
    throw new PatchbayError('invalid_config', 'the worker needs a model', {
      hint: 'set OPENAI_API_KEY, or OPENAI_BASE_URL for another OpenAI-compatible server',
    });
  }
  const serverUrl = env.GITHUB_SERVER_URL.replace(/\/+$/, '');
  const workspaces = createWorkspaces({
    root: env.PATCHBAY_DATA_DIR ?? join(homedir(), '.patchbay'),
    remoteUrl: (repo) => `${serverUrl}/${repo}.git`,
    credentials: tokenCredentials(env.GITHUB_TOKEN),
    log,
  });
  const openai = new OpenAI({ apiKey: env.OPENAI_API_KEY ?? 'none', baseURL: env.OPENAI_BASE_URL, maxRetries: 2 });
  const agent = createAgent({ openai, model: env.PATCHBAY_MODEL, pricing: config.file.pricing, log });
  const octokit = createOctokit({ token: env.GITHUB_TOKEN, baseUrl: env.GITHUB_API_URL, log });
  const publisher = createPullRequests({ octokit, log });
  return { workspaces, agent, publisher };
}
