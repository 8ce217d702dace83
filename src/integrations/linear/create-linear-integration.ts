import type { LinearClient } from '@linear/sdk';
import type { HttpServer } from '../../server/http-server.js';
import type { Integration, TaskServices } from '../../server/integration.js';
import { handleAgentSession, type LinearHandlerDeps } from './handle-agent-session.js';
import { createLinearApi } from './linear-api.js';
import { createWebhookHandler, type LinearDelivery } from './linear-receiver.js';
import { createLinearReporter } from './linear-reporter.js';
import type { LinearSettings } from './linear-settings.js';

export interface LinearIntegrationDeps {
  settings: LinearSettings;
  client: LinearClient;
  services: TaskServices;
  /** At most one `action` activity per this many ms (default 5 s). */
  actionIntervalMs?: number;
}

/**
 * Linear as a trigger and a place to report: agent session webhooks on the shared server
 * (`POST /linear/webhook`) turn delegations and prompts into tasks on the issue's conversation, and a
 * reporter posts the tasks' progress as activities of their session from whichever worker runs them.
 */
export function createLinearIntegration(deps: LinearIntegrationDeps): Integration {
  const { settings, services } = deps;
  const log = services.log.child({ integration: 'linear' });
  const api = createLinearApi({ client: deps.client, log });
  const reporter = createLinearReporter({ api, log, actionIntervalMs: deps.actionIntervalMs });
  const pending = new Set<Promise<unknown>>();
  const background: LinearHandlerDeps['background'] = (what, work) => {
    const p = work().catch((err: Error) => log.warn({ what, err: err.message }, 'linear reply failed'));
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const handlerDeps: LinearHandlerDeps = { services, api, background, log };

  async function dispatch(delivery: LinearDelivery): Promise<void> {
    const { type, action } = delivery.envelope;
    if (type === 'AgentSessionEvent') return handleAgentSession(handlerDeps, delivery);
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
        createWebhookHandler({ secret: settings.webhookSecret, log, dispatch }),
      );
    },
    reporter: { source: 'linear', reporter },
    async start() {
      if (serving) log.info('Linear on: agent session webhooks at POST /linear/webhook');
    },
    async stop() {
      const deadline = new Promise((r) => setTimeout(r, 10_000).unref());
      await Promise.race([Promise.allSettled([...pending]).then(() => reporter.idle()), deadline]);
    },
  };
}
