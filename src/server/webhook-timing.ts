import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { HttpServer } from './http-server.js';

/** The webhook routes (all POST) and the `source` label of their timings. */
export const WEBHOOK_SOURCES: Readonly<Record<string, string>> = {
  '/slack/events': 'slack',
  '/linear/webhook': 'linear',
  '/github/webhook': 'github',
  '/api/hooks/:name': 'hook',
};

export interface WebhookTiming {
  /** Records one answered delivery; runs after the answer was sent, so it never delays it. */
  observe(source: string, seconds: number): Promise<void>;
  clock: Clock;
  log: Logger;
}

/**
 * The server as the integrations register on it, with each webhook route timed from the moment its
 * handler starts (the request's headers were read) to the moment its answer was sent or the caller
 * hung up: what Slack's 3 s and Linear's 5 s limits are about. Other routes are left as they are.
 */
export function timeWebhooks(http: HttpServer, timing: WebhookTiming): HttpServer {
  const { clock, log } = timing;
  return {
    ...http,
    route(method, path, handler) {
      const source = method === 'POST' ? WEBHOOK_SOURCES[path] : undefined;
      if (!source) return http.route(method, path, handler);
      return http.route(method, path, async (req, res, params) => {
        const start = clock.now();
        res.once('close', () => {
          const seconds = Math.max(0, clock.now() - start) / 1000;
          timing
            .observe(source, seconds)
            .catch((err: Error) => log.warn({ source, err: err.message }, 'could not record webhook timing'));
        });
        await handler(req, res, params);
      });
    },
  };
}
