import type { Redis } from 'ioredis';
import type { GitHubAccess } from './build-github-access.js';
import { hookSecretOf, hookSecretVariable } from './config/automation-schema.js';
import type { Config } from './config/load-config.js';
import type { TaskPageUrl } from './config/task-page-links.js';
import type { PlaceNotices, Reporter, TellPlaces } from './domain/events.js';
import type { ConversationStore } from './domain/ports.js';
import type { ReplyAddress } from './domain/reply-address.js';
import type { TaskRecord } from './domain/task.js';
import type { Alarms } from './integrations/github/handle-check-delivery.js';
import { createPullRequestNotices } from './integrations/github/pull-request-notices.js';
import { createPullRequests } from './integrations/github/pull-requests.js';
import type { Clock } from './lib/clock.js';
import type { Logger } from './lib/logger.js';
import { createAutomationQueue } from './queue/automation-queue.js';
import { createAutomationWorker } from './queue/automation-worker.js';
import { reconcileSchedules } from './queue/reconcile-schedules.js';
import { createRedisHookLimiter } from './queue/redis-hook-limiter.js';
import { createRedisKeyValue } from './queue/redis-key-value.js';
import { createRedisScheduleStore } from './queue/redis-schedule-store.js';
import { registerHookRoutes } from './server/hook-routes.js';
import type { HttpServer } from './server/http-server.js';
import type { Integration } from './server/integration.js';
import { runScheduleTick, type TickOutcome } from './tasks/run-schedule-tick.js';
import { createScheduleObserver } from './tasks/schedule-observer.js';
import type { Submitted } from './tasks/submit-task.js';

/** The automations' queue name beside the tasks' one (BullMQ queue names may not contain `:`). */
export const automationQueueName = (taskQueue: string) => `${taskQueue}-automations`;

/**
 * Schedules and alarms: the automations' queue and the schedules' state in Redis, reconciliation of
 * the job schedulers with patchbay.yml, the tick handler, and the observer that pauses a schedule
 * after failing in a row. Built in every process; only worker processes take the queue's jobs.
 */
export function buildAutomations(opts: {
  config: Config;
  redis: Redis;
  prefix: string;
  queueName: string;
  clock: Clock;
  log: Logger;
}) {
  const { config, redis, prefix, clock } = opts;
  const log = opts.log.child({ component: 'automations' });
  const queue = createAutomationQueue({ connection: redis, name: automationQueueName(opts.queueName) });
  const state = createRedisScheduleStore({ redis, prefix });

  const alarmsFor = (integration: string): Alarms => ({
    set: (key, at, data) => queue.setAlarm(integration, key, at, data, clock.now()),
  });

  /** The tick handler with this process's clients; `clock` is the caller's. */
  function tickHandler(deps: {
    submit: (input: unknown) => Promise<Submitted>;
    conversations: Pick<ConversationStore, 'get'>;
    activeTask: (conversation: string) => Promise<TaskRecord | null>;
    githubAccess: () => GitHubAccess;
    integrations: Integration[];
  }) {
    const slack = deps.integrations.find((i) => i.openThread);
    let pulls: ReturnType<typeof createPullRequests> | undefined;
    const tickDeps = {
      schedules: config.file.schedules,
      submit: deps.submit,
      conversations: deps.conversations,
      activeTask: deps.activeTask,
      state,
      pullRequestState: (repo: string, number: number) => {
        pulls ??= createPullRequests({ octokit: deps.githubAccess().clients, log });
        return pulls.state(repo, number);
      },
      openThread: slack?.openThread?.bind(slack),
      log,
    };
    return (tick: { name: string; at: number; manual: boolean }, at: Clock = clock): Promise<TickOutcome> =>
      runScheduleTick(tickDeps, tick, at);
  }

  function observer(deps: {
    audience: (taskId: string) => Promise<ReplyAddress[]>;
    conversations: Pick<ConversationStore, 'get'>;
    tell: TellPlaces;
  }): Reporter {
    return createScheduleObserver({ state, ...deps, log });
  }

  function startWorker(deps: {
    connection: Redis;
    lockMs: number;
    tick: (tick: { name: string; at: number; manual: boolean }) => Promise<unknown>;
    integrations: Integration[];
  }) {
    const worker = createAutomationWorker({
      connection: deps.connection,
      name: automationQueueName(opts.queueName),
      lockMs: deps.lockMs,
      log,
      handlers: {
        tick: async (tick) => void (await deps.tick(tick)),
        async alarm(integration, data) {
          const target = deps.integrations.find((i) => i.name === integration);
          if (!target?.wake) {
            log.warn({ integration }, 'alarm for an integration that is off here; dropped');
            return;
          }
          await target.wake(data);
        },
      },
    });
    worker.start();
    return worker;
  }

  /** `POST /api/hooks/:name` for each hook of patchbay.yml whose secret is set; start-up says which. */
  function registerHooks(
    http: HttpServer,
    deps: { submit: (input: unknown) => Promise<Submitted>; pageUrl: TaskPageUrl },
  ) {
    const hooks = config.file.hooks.flatMap((hook) => {
      const secret = hookSecretOf(config.env, hook.name);
      log.info(
        secret
          ? `hook ${hook.name} on: POST /api/hooks/${hook.name}`
          : `hook ${hook.name} off: ${hookSecretVariable(hook.name)} is not set`,
      );
      return secret ? [{ ...hook, secret }] : [];
    });
    registerHookRoutes(http, {
      hooks,
      submit: deps.submit,
      limiter: createRedisHookLimiter({ redis, prefix }),
      kv: createRedisKeyValue({ redis, prefix, namespace: 'hooks' }),
      pageUrl: deps.pageUrl,
      clock,
      log: opts.log.child({ component: 'hooks' }),
    });
  }

  return {
    queue,
    state,
    alarmsFor,
    registerHooks,
    tickHandler,
    observer,
    startWorker,
    reconcile: () =>
      reconcileSchedules({ redis, prefix, queue, store: state, schedules: config.file.schedules, log }),
    close: () => queue.close(),
  };
}

/**
 * Tells places through the integration of each: the integrations' notices, and comments on pull
 * requests through Patchbay's GitHub clients (there whether or not the review loop's webhook is on).
 */
export function createTellRouter(deps: {
  integrations: Integration[];
  githubAccess: () => GitHubAccess;
  log: Logger;
}): TellPlaces {
  let pulls: PlaceNotices | undefined;
  const github = (): PlaceNotices => {
    pulls ??= createPullRequestNotices({
      pulls: createPullRequests({ octokit: deps.githubAccess().clients, log: deps.log }),
      log: deps.log,
    });
    return pulls;
  };
  return async (places, text) => {
    const boards = [...deps.integrations.flatMap((i) => (i.notices ? [i.notices] : []))];
    if (places.some((p) => p.kind === 'github-pull')) {
      try {
        boards.push(github());
      } catch (err) {
        deps.log.warn({ err: (err as Error).message }, 'cannot tell pull requests: no GitHub credentials');
      }
    }
    await Promise.all(
      boards.map((board) => {
        const mine = places.filter((p) => board.kinds.includes(p.kind));
        return mine.length ? board.tell(mine, text) : Promise.resolve();
      }),
    );
  };
}
