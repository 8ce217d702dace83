import type { Redis } from 'ioredis';
import type { buildAutomations } from './build-automations.js';
import type { GitHubAccess } from './build-github-access.js';
import { buildSignIn } from './build-sign-in.js';
import type { Config } from './config/load-config.js';
import { toTaskPageUrl } from './config/task-page-links.js';
import type { Inbox } from './domain/inbox.js';
import type { Clock } from './lib/clock.js';
import type { Logger } from './lib/logger.js';
import { createRedisKeyValue } from './queue/redis-key-value.js';
import type { createRedisMetrics } from './queue/redis-metrics.js';
import type { createRedisTaskDiffs } from './queue/redis-task-diffs.js';
import type { createRedisTaskStore } from './queue/redis-task-store.js';
import type { createRedisTaskTimeline } from './queue/redis-task-timeline.js';
import { registerApiRoutes } from './server/api-routes.js';
import { readDashboardStats } from './server/dashboard-stats.js';
import { registerHealthRoutes } from './server/health-routes.js';
import { createHttpServer } from './server/http-server.js';
import type { Integration, TaskServices } from './server/integration.js';
import { createMetricsRegistry } from './server/metrics-registry.js';
import { registerMetricsRoute } from './server/metrics-route.js';
import { createPageData } from './server/page-data.js';
import { registerPageRoutes } from './server/pages/register-page-routes.js';
import { timeWebhooks } from './server/webhook-timing.js';
import { acceptTask } from './tasks/accepted-task.js';
import { retryTask } from './tasks/retry-task.js';
import type { SubmitDeps } from './tasks/submit-task.js';

/** What the HTTP side is built from; startPatchbay makes all of it once for the server and the worker. */
export interface ServerWiring {
  config: Config;
  log: Logger;
  redis: Redis;
  prefix: string;
  clock: Clock;
  /** The clock given to startPatchbay, if any: sign-in's session expiry runs on it (tests). */
  givenClock: Clock | undefined;
  sessionKey: string | undefined;
  tasks: TaskServices;
  submitDeps: SubmitDeps;
  inbox: Inbox;
  store: ReturnType<typeof createRedisTaskStore>;
  timeline: ReturnType<typeof createRedisTaskTimeline>;
  diffs: ReturnType<typeof createRedisTaskDiffs>;
  metrics: ReturnType<typeof createRedisMetrics>;
  automations: ReturnType<typeof buildAutomations>;
  integrations: Integration[];
  githubAccess: () => GitHubAccess;
}

/**
 * The one HTTP server: sign-in, health, the API, the pages, metrics, hooks and every integration's
 * webhooks. Returns its port and how to stop it (open event streams are told first).
 */
export async function startServer(w: ServerWiring): Promise<{ port: number; stop(): Promise<void> }> {
  const { config, log, clock } = w;
  const env = config.env;
  const http = createHttpServer({ log });
  const signIn = buildSignIn({
    config,
    kv: createRedisKeyValue({ redis: w.redis, prefix: w.prefix, namespace: 'auth' }),
    sessionKey: w.sessionKey,
    githubAccess: w.githubAccess,
    log,
    clock: w.givenClock,
  });
  signIn.registerRoutes(http);
  registerHealthRoutes(http, { pingRedis: () => w.redis.ping() });
  const stopping = new AbortController();
  const pageUrl = toTaskPageUrl(env.PATCHBAY_PUBLIC_URL);
  registerApiRoutes(http, {
    ...w.tasks,
    on: Boolean(env.PATCHBAY_API_TOKEN || env.GITHUB_CLIENT_ID),
    viewerOf: signIn.viewerOf,
    publicUrl: signIn.publicUrl,
    pageUrl,
    retry: (id) => retryTask(w.submitDeps, id),
    accept: (input) => acceptTask({ config, inbox: w.inbox, getTask: w.tasks.getTask }, input),
    index: w.store.index,
    timeline: w.timeline,
    diffs: w.diffs,
    stopping: stopping.signal,
  });
  registerPageRoutes(http, {
    viewerOf: signIn.viewerOf,
    ...createPageData({
      store: w.store,
      index: w.store.index,
      timeline: w.timeline,
      diffs: w.diffs,
      stats: () => readDashboardStats({ source: w.metrics, clock }, { failureDays: 30 }),
      repositories: config.file.repositories.map((r) => r.name),
      budget: config.file.budget,
    }),
    clock,
  });
  if (!env.PATCHBAY_PUBLIC_URL)
    log.info(
      'Task pages are not linked from Slack, Linear, pull requests or the API: PATCHBAY_PUBLIC_URL is not set',
    );
  const timed = timeWebhooks(http, { observe: w.metrics.observeWebhook, clock, log });
  w.automations.registerHooks(timed, { submit: w.tasks.submit, pageUrl });
  for (const integration of w.integrations) integration.registerRoutes?.(timed);
  log.info(env.PATCHBAY_API_TOKEN ? 'HTTP API on' : 'HTTP API off: PATCHBAY_API_TOKEN is not set');
  const metricsToken = env.PATCHBAY_METRICS_TOKEN;
  if (metricsToken) {
    const registry = createMetricsRegistry({ reader: w.metrics });
    registerMetricsRoute(http, { token: metricsToken, registry, log });
  }
  log.info(metricsToken ? 'metrics on: GET /metrics' : 'metrics off: PATCHBAY_METRICS_TOKEN is not set');
  const port = await http.listen(env.PORT);
  log.info({ port }, 'server listening');
  return {
    port,
    async stop() {
      stopping.abort();
      await http.close();
    },
  };
}
