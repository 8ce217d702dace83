import type { LinearClient } from '@linear/sdk';
import { createBackgroundWork } from '../../lib/background-work.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { memoizeAsync } from '../../lib/memoize-async.js';
import type { HttpServer } from '../../server/http-server.js';
import type { Integration, IntegrationContext } from '../../server/integration.js';
import { handleAgentSession } from './handle-agent-session.js';
import { handleCommentEvent } from './handle-comment-event.js';
import { handleIssueEvent } from './handle-issue-event.js';
import type { LinearAgentInstall } from './linear-agent-install.js';
import { createLinearApi, type LinearApi, type LinearClientFor, type LinearUser } from './linear-api.js';
import { createLinearNotices } from './linear-notices.js';
import { createWebhookHandler, type LinearDelivery } from './linear-receiver.js';
import type { LinearHandlerDeps } from './linear-replies.js';
import { createLinearReporter, type LinearApis } from './linear-reporter.js';
import type { LinearRules, LinearSettings } from './linear-settings.js';

export interface LinearIntegrationDeps extends IntegrationContext {
  settings: LinearSettings;
  rules: LinearRules;
  /** Agent mode: the agent's client for a workspace (`organizationId` of the webhook). */
  agentClientFor?: LinearClientFor;
  /** Agent mode as an OAuth app: its install routes, and which workspaces installed it. */
  install?: LinearAgentInstall;
  /** Assignment mode: the client of the bot user (its API key). */
  assignmentClient?: LinearClient;
  /** At most one `action` activity per this many ms (default 5 s). */
  actionIntervalMs?: number;
  /** At most one edit of a progress comment per this many ms (default 3 s). */
  editIntervalMs?: number;
  /**
   * The clock the reporter spaces and coalesces its posts by, and the first thought and the webhook's
   * answer wait on (default the system's). Rate-limit waits of the API client stay in real time.
   */
  clock?: Clock;
}

/**
 * Linear as a trigger and a place to report. Webhooks on the shared server (`POST /linear/webhook`):
 * agent sessions (delegation, mention of the agent, prompts), issue assignment to the bot user and
 * comments that mention it turn into tasks on the issue's conversation; an issue deleted stops its
 * task. A reporter shows the tasks' progress in their sessions and on their issues from whichever
 * worker runs them.
 */
export function createLinearIntegration(deps: LinearIntegrationDeps): Integration {
  const { tasks, kv, rules, log } = deps;
  const { apis, bot } = buildApis(deps, log);
  const reporter = createLinearReporter({
    apis,
    kv,
    pageUrl: rules.pageUrl,
    log,
    actionIntervalMs: deps.actionIntervalMs,
    editIntervalMs: deps.editIntervalMs,
    clock: deps.clock,
  });
  const work = createBackgroundWork(log, 'linear reply failed');
  const background = work.run;
  const handlerDeps: LinearHandlerDeps = { tasks, kv, rules, apis, bot, background, log, clock: deps.clock };

  async function dispatch(delivery: LinearDelivery): Promise<void> {
    const { type, action } = delivery.envelope;
    if (type === 'AgentSessionEvent' && deps.agentClientFor) {
      const organizationId = (delivery.envelope as { organizationId?: unknown }).organizationId;
      const org = typeof organizationId === 'string' ? organizationId : undefined;
      if (deps.install && !(await deps.install.isInstalled(org))) {
        log.warn(
          { organization: org },
          'linear agent event from a workspace that has not installed it; skipped',
        );
        return;
      }
      return handleAgentSession(handlerDeps, delivery);
    }
    if (type === 'Issue') return handleIssueEvent(handlerDeps, delivery);
    if (type === 'Comment') return handleCommentEvent(handlerDeps, delivery);
    log.info({ type, action, delivery: delivery.deliveryId }, 'linear webhook type not handled; skipped');
  }

  let serving = false;
  return {
    name: 'linear',
    registerRoutes(server: HttpServer) {
      serving = true;
      server.route(
        'POST',
        '/linear/webhook',
        createWebhookHandler({ secret: deps.settings.webhookSecret, log, dispatch, clock: deps.clock }),
      );
      deps.install?.registerRoutes(server);
    },
    reporter,
    notices: createLinearNotices({ apis, log }),
    async start() {
      if (!serving) return;
      const modes = [deps.agentClientFor ? 'agent sessions' : '', apis.assignment ? 'assignment' : ''];
      log.info({ modes: modes.filter(Boolean) }, 'Linear on: webhooks at POST /linear/webhook');
      if (!apis.assignment) return;
      await bot()
        .then((user) =>
          log.info(
            { bot: user?.displayName },
            'Linear assignment mode: issues assigned to the bot user start tasks',
          ),
        )
        .catch((err: Error) =>
          log.warn({ err: err.message }, 'Linear bot user not read yet; will retry on the next webhook'),
        );
    },
    async stop() {
      await work.settle(10_000, () => reporter.idle());
    },
  };
}

function buildApis(deps: LinearIntegrationDeps, log: Logger) {
  const agentApis = new Map<string, LinearApi>();
  const { agentClientFor, assignmentClient } = deps;
  const assignment = assignmentClient
    ? createLinearApi({ client: async () => assignmentClient, log })
    : undefined;
  const bot = cachedBot(assignment);
  const apis: LinearApis = {
    agent(organizationId) {
      const key = organizationId ?? '';
      let api = agentApis.get(key);
      if (!api) {
        api = createLinearApi({
          client: () =>
            agentClientFor
              ? agentClientFor(organizationId)
              : Promise.reject(new Error('Linear agent mode is off')),
          log,
        });
        agentApis.set(key, api);
      }
      return api;
    },
    assignment,
    botHandle: async () => (await bot())?.displayName,
  };
  return { apis, bot };
}

/** The bot user (the API key's viewer), read once; a failed read is tried again next time. */
function cachedBot(api: LinearApi | undefined): () => Promise<LinearUser | null> {
  if (!api) return async () => null;
  return memoizeAsync(() => api.fetchViewer());
}
