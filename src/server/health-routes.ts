import { withDeadline } from '../lib/deadline.js';
import type { HttpServer } from './http-server.js';
import { sendJson } from './http-server.js';

/** `/healthz` answers while the process lives; `/readyz` only while Redis answers too. */
export function registerHealthRoutes(http: HttpServer, deps: { pingRedis: () => Promise<unknown> }): void {
  http.route('GET', '/healthz', async (_req, res) => sendJson(res, 200, { ok: true }));
  http.route('GET', '/readyz', async (_req, res) => {
    try {
      await withDeadline(deps.pingRedis(), 2_000, 'redis did not answer');
      sendJson(res, 200, { ok: true, redis: 'up' });
    } catch {
      sendJson(res, 503, { ok: false, redis: 'down' });
    }
  });
}
