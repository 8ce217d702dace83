import { homedir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { createAgent } from './agent/create-agent.js';
import type { Config } from './config/load-config.js';
import { PatchbayError } from './domain/errors.js';
import type { Reporter } from './domain/events.js';
import { createBotLogin, lookUpTokenLogin } from './integrations/github/bot-login.js';
import { createGitHubAppAuth } from './integrations/github/create-github-app-auth.js';
import { createGitHubIntegration } from './integrations/github/create-github-integration.js';
import { createOctokit, type GitHubClients } from './integrations/github/create-octokit.js';
import { createPullRequests } from './integrations/github/pull-requests.js';
import { createLinearIntegration } from './integrations/linear/create-linear-integration.js';
import { createLinearAgentInstall } from './integrations/linear/linear-agent-install.js';
import { createLinearClient } from './integrations/linear/linear-api.js';
import { readLinearSettings } from './integrations/linear/linear-settings.js';
import { createSlackIntegration } from './integrations/slack/create-slack-integration.js';
import { createSlackClients } from './integrations/slack/slack-client.js';
import { readSlackSettings } from './integrations/slack/slack-settings.js';
import type { Logger } from './lib/logger.js';
import { createRedactor } from './lib/redact.js';
import { createConversationLock } from './queue/conversation-lock.js';
import { createRedisCancelBus } from './queue/redis-cancel-bus.js';
import { createRedisConversationStore } from './queue/redis-conversation-store.js';
import { createRedisIdempotencyStore } from './queue/redis-idempotency-store.js';
import { createRedisKeyValue } from './queue/redis-key-value.js';
import { createRedisTaskStore } from './queue/redis-task-store.js';
import { createTaskQueue } from './queue/task-queue.js';
import { createTaskWorker } from './queue/task-worker.js';
import { createSandbox } from './sandbox/create-sandbox.js';
import { probeSandbox } from './sandbox/probe-sandbox.js';
import { registerApiRoutes } from './server/api-routes.js';
import { registerHealthRoutes } from './server/health-routes.js';
import { createHttpServer } from './server/http-server.js';
import type { Integration, TaskServices } from './server/integration.js';
import { cancelTask } from './tasks/cancel-task.js';
import { handleAttempt, recordGiveUp } from './tasks/handle-attempt.js';
import { createLogReporter, routeReporters } from './tasks/log-reporter.js';
import { runTask } from './tasks/run-task.js';
import { toSafeReporter } from './tasks/safe-reporter.js';
import { submitTask } from './tasks/submit-task.js';
import { createWorkspaces } from './workspace/create-workspaces.js';
import { type GitCredentials, tokenCredentials } from './workspace/types.js';

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
  /** Extra reporters by task source (tests, the demo's terminal). */
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
  const prefix = opts.prefix ?? env.PATCHBAY_REDIS_PREFIX;
  const queueName = opts.queueName ?? env.PATCHBAY_QUEUE;
  const retentionDays = config.file.retention_days;
  const redis = new Redis(env.REDIS_URL, {
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
  const services: TaskServices = {
    submit: (input) => submitTask({ config, store, conversations, idempotency, queue, log }, input),
    cancel: (id) => cancelTask({ store, conversations, queue, cancels }, id),
    getTask: (id) => store.get(id),
    conversations,
    kv: createRedisKeyValue({ redis, prefix }),
    config,
    log,
  };
  // The worker's GitHub clients, shared with the GitHub reporter: replies are spaced after PR writes.
  let github: GitHubAccess | undefined;
  const githubAccess = () => {
    github ??= buildGitHubAccess(env, log);
    return github;
  };
  const integrations = buildIntegrations(services, githubAccess);
  const reporters: Partial<Record<string, Reporter>> = Object.fromEntries(
    integrations.flatMap((i) => (i.reporter ? [[i.reporter.source, i.reporter.reporter]] : [])),
  );
  const reporter = toSafeReporter(
    routeReporters({ ...reporters, ...opts.reporters }, createLogReporter(log)),
    log,
  );
  const stops: Array<() => Promise<void>> = [];
  const redact = createRedactor(secretValues(env));

  let port: number | undefined;
  if (opts.server) {
    const http = createHttpServer({ log });
    registerHealthRoutes(http, { pingRedis: () => redis.ping() });
    registerApiRoutes(http, { token: env.PATCHBAY_API_TOKEN, ...services });
    for (const integration of integrations) integration.registerRoutes?.(http);
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
    const workerDeps = buildWorkerDeps(config, log, githubAccess());
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
      onGiveUp: (taskId, err) => recordGiveUp({ store, reporter }, taskId, err),
      handle: ({ taskId, signal, lastAttempt }) =>
        handleAttempt({ store, conversations, reporter, log, redact }, { taskId, signal, lastAttempt }, () =>
          runTask(run, { taskId, signal }),
        ),
    });
    worker.start();
    log.info({ concurrency: env.PATCHBAY_CONCURRENCY, sandbox: probe.description }, 'worker started');
    stops.push(async () => {
      await worker.stop();
      workerConnection.disconnect();
      // A refill writes under the data dir until it ends; SIGTERM's grace bounds the wait.
      await Promise.race([
        workerDeps.workspaces.poolIdle(),
        new Promise((r) => setTimeout(r, 1_500).unref()),
      ]);
    });
  }

  for (const integration of integrations) {
    await integration.start?.();
    stops.unshift(async () => integration.stop?.());
  }

  return {
    port,
    sandboxDescription,
    async stop() {
      for (const stop of stops)
        await stop().catch((err) => log.warn({ err: err.message }, 'stop step failed'));
      await cancels.close();
      await store.close();
      await queue.close().catch(() => undefined);
      redis.disconnect();
    },
  };
}

/** Every configured credential: none of them may appear in a stored or reported error. */
function secretValues(env: Config['env']): Array<string | undefined> {
  return [
    env.GITHUB_TOKEN,
    env.GITHUB_APP_PRIVATE_KEY,
    env.GITHUB_WEBHOOK_SECRET,
    env.OPENAI_API_KEY,
    env.PATCHBAY_API_TOKEN,
    env.SLACK_BOT_TOKEN,
    env.SLACK_SIGNING_SECRET,
    env.SLACK_APP_TOKEN,
    env.LINEAR_API_KEY,
    env.LINEAR_ACCESS_TOKEN,
    env.LINEAR_CLIENT_SECRET,
    env.LINEAR_WEBHOOK_SECRET,
  ];
}

/** The integrations whose credentials are set; each says at start-up whether it is on. */
function buildIntegrations(services: TaskServices, githubAccess: () => GitHubAccess): Integration[] {
  const integrations: Integration[] = [];
  const slack = readSlackSettings(services.config.env);
  if (slack) {
    const clients = createSlackClients(slack, services.log);
    integrations.push(createSlackIntegration({ settings: slack, clients, services }));
  } else services.log.info('Slack off: SLACK_BOT_TOKEN is not set');
  const linear = readLinearSettings(services.config.env);
  if ('off' in linear) services.log.info(linear.off);
  else {
    const { oauth, accessToken } = linear.agent ?? {};
    const install = oauth
      ? createLinearAgentInstall({
          ...oauth,
          apiUrl: linear.apiUrl,
          publicUrl: services.config.env.PATCHBAY_PUBLIC_URL,
          kv: services.kv,
          log: services.log,
        })
      : undefined;
    if (oauth && services.config.env.LINEAR_ACCESS_TOKEN)
      services.log.info(
        'Linear agent runs as the OAuth app: LINEAR_CLIENT_ID is set, so LINEAR_ACCESS_TOKEN is not used',
      );
    const fixed = accessToken ? createLinearClient({ accessToken, apiUrl: linear.apiUrl }) : undefined;
    const apiKey = linear.assignment?.apiKey;
    integrations.push(
      createLinearIntegration({
        settings: linear,
        install,
        agentClientFor: install?.clientFor ?? (fixed ? async () => fixed : undefined),
        assignmentClient: apiKey ? createLinearClient({ apiKey, apiUrl: linear.apiUrl }) : undefined,
        services,
      }),
    );
  }
  const github = buildGitHubIntegration(services, githubAccess);
  if (github) integrations.push(github);
  return integrations;
}

/** The review loop on Patchbay's pull requests: needs the webhook secret and GitHub credentials. */
function buildGitHubIntegration(
  services: TaskServices,
  githubAccess: () => GitHubAccess,
): Integration | undefined {
  const env = services.config.env;
  if (!env.GITHUB_WEBHOOK_SECRET) {
    services.log.info('GitHub review loop off: GITHUB_WEBHOOK_SECRET is not set');
    return undefined;
  }
  if (!env.GITHUB_TOKEN && !env.GITHUB_APP_ID && !env.GITHUB_APP_PRIVATE_KEY) {
    services.log.info('GitHub review loop off: set GITHUB_APP_ID + GITHUB_APP_PRIVATE_KEY or GITHUB_TOKEN');
    return undefined;
  }
  // The webhook side has clients of its own: Octokit spaces writes per client (1–3 s), and a 👀 must
  // not wait behind the worker's pushes and PR updates. Replies go through the worker's clients.
  const { clients, botLogin } = buildGitHubAccess(env, services.log);
  const secret = env.GITHUB_WEBHOOK_SECRET;
  return createGitHubIntegration({
    secret,
    clients,
    replyClients: () => githubAccess().clients,
    botLogin,
    services,
  });
}

/** The worker's clients: git workspaces, the model, GitHub. */
export function buildWorkerDeps(config: Config, log: Logger, github = buildGitHubAccess(config.env, log)) {
  const env = config.env;
  if (!env.OPENAI_API_KEY && !env.OPENAI_BASE_URL) {
    throw new PatchbayError('invalid_config', 'the worker needs a model', {
      hint: 'set OPENAI_API_KEY, or OPENAI_BASE_URL for another OpenAI-compatible server',
    });
  }
  const serverUrl = env.GITHUB_SERVER_URL.replace(/\/+$/, '');
  const workspaces = createWorkspaces({
    root: env.PATCHBAY_DATA_DIR ?? join(homedir(), '.patchbay'),
    remoteUrl: (repo) => `${serverUrl}/${repo}.git`,
    credentials: github.credentials,
    log,
    // One warm clone per task a worker may run at once, per repository.
    pool: { size: env.PATCHBAY_CONCURRENCY },
  });
  const openai = new OpenAI({
    apiKey: env.OPENAI_API_KEY ?? 'none',
    baseURL: env.OPENAI_BASE_URL,
    maxRetries: 2,
  });
  const agent = createAgent({ openai, model: env.PATCHBAY_MODEL, pricing: config.file.pricing, log });
  const publisher = createPullRequests({ octokit: github.clients, log });
  return { workspaces, agent, publisher };
}

/**
 * GitHub credentials for the API and for git: a GitHub App (the App's installation per repository,
 * its tokens refreshed before they expire) or a personal token. Both set → the App wins.
 */
interface GitHubAccess {
  clients: GitHubClients;
  credentials: GitCredentials;
  botLogin: () => Promise<string>;
}

function buildGitHubAccess(env: Config['env'], log: Logger): GitHubAccess {
  const { GITHUB_APP_ID: appId, GITHUB_APP_PRIVATE_KEY: privateKey, GITHUB_TOKEN: token } = env;
  if (appId || privateKey) {
    if (!appId || !privateKey) {
      const missing = appId ? 'GITHUB_APP_PRIVATE_KEY' : 'GITHUB_APP_ID';
      throw new PatchbayError('invalid_config', `GitHub App auth needs ${missing} too`, {
        hint: 'set both GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (see docs/github-app.md), or neither',
      });
    }
    const app = createGitHubAppAuth({ appId, privateKey, baseUrl: env.GITHUB_API_URL, log });
    if (token) log.info('GitHub App auth on: GITHUB_APP_ID is set, so GITHUB_TOKEN is not used');
    else log.info('GitHub App auth on');
    return {
      clients: app.clientFor,
      credentials: tokenCredentials((repo) => app.tokenFor(repo)),
      botLogin: app.botLogin,
    };
  }
  if (!token) {
    throw new PatchbayError('invalid_config', 'the worker needs GitHub credentials', {
      hint: 'set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (a GitHub App, see docs/github-app.md), or GITHUB_TOKEN to a token that may push branches and open pull requests',
    });
  }
  const octokit = createOctokit({ token, baseUrl: env.GITHUB_API_URL, log });
  return {
    clients: octokit,
    credentials: tokenCredentials(token),
    botLogin: createBotLogin(() => lookUpTokenLogin(octokit)),
  };
}
