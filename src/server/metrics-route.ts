import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/logger.js';
import { type HttpServer, sendJson } from './http-server.js';

/** Hashing both sides first makes the comparison take as long whatever the given token's length. */
const digest = (text: string) => createHash('sha256').update(text).digest();

function authorized(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  if (!header.startsWith('Bearer ')) return false;
  return timingSafeEqual(digest(header.slice(7)), digest(token));
}

/**
 * `GET /metrics` in Prometheus's text format, for a scraper that sends `Authorization: Bearer
 * <PATCHBAY_METRICS_TOKEN>`; not registered at all without a token (404). A store that cannot be read
 * answers 503, so the scrape fails visibly rather than exporting zeros.
 */
export function registerMetricsRoute(
  http: HttpServer,
  deps: { token: string | undefined; registry: Registry; log: Logger },
): void {
  const { token, registry, log } = deps;
  if (!token) return;
  http.route('GET', '/metrics', async (req, res) => {
    if (!authorized(req, token)) {
      sendJson(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
      return;
    }
    let body: string;
    try {
      body = await registry.metrics();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not read metrics');
      sendJson(res, 503, { error: 'metrics unavailable' });
      return;
    }
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
    res.end(body);
  });
}
