import { createHash } from 'node:crypto';
import type { WritePace } from '../../domain/write-pace.js';
import type { Logger } from '../../lib/logger.js';

/** A rate limit is waited out this many times per request, then the call fails (transient). */
const RATE_LIMIT_RETRIES = 2;
/** A longer wait (a primary limit resets hourly) fails the call so the queue's backoff takes over. */
const RATE_LIMIT_MAX_WAIT_S = 120;
/** GitHub's secondary limit without a Retry-After: its docs say to wait at least a minute. */
const SECONDARY_FALLBACK_S = 60;

/** A client's place in the shared write pace: the pace and its key (installation or token hash). */
export interface PaceSlot {
  pace: WritePace;
  key: string;
}

/**
 * Content-creating writes: every POST, PATCH, PUT and DELETE but an installation token's issue,
 * which creates nothing and which every other request may wait on.
 * https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api
 */
export function isContentWrite(method: string, path: string): boolean {
  if (!['POST', 'PATCH', 'PUT', 'DELETE'].includes(method.toUpperCase())) return false;
  return !/\/app\/installations\/[^/]+\/access_tokens$/.test(path);
}

/** Patchbay's only reactions are its acknowledgements (👀 on a review comment): someone waits on them. */
export function isUrgentWrite(method: string, path: string): boolean {
  return method.toUpperCase() === 'POST' && /\/reactions$/.test(path);
}

/**
 * `fetch` that waits for the write pace right before a content-creating write goes on the wire, so
 * that a retried write (5xx, rate limit) waits again and nothing between the slot and GitHub (the
 * auth hook's token look-up) runs while the slot is held; the slot is released once GitHub has
 * answered (the gap counts from there). Reads go straight through.
 */
export function pacedFetch(inner: typeof fetch, slot: PaceSlot | undefined, log: Logger): typeof fetch {
  if (!slot) return inner;
  return async (input, init) => {
    const method = init?.method ?? 'GET';
    const path = new URL(String(input instanceof Request ? input.url : input)).pathname;
    if (!isContentWrite(method, path)) return inner(input, init);
    const started = Date.now();
    const taken = await slot.pace.acquire(slot.key, { urgent: isUrgentWrite(method, path) });
    const waitedMs = Date.now() - started;
    if (waitedMs >= 50) log.debug({ method, waitedMs }, 'github write paced');
    try {
      return await inner(input, init);
    } finally {
      await taken
        .release()
        .catch((err: Error) => log.warn({ err: err.message }, 'github write pace release failed'));
    }
  };
}

interface RateLimit {
  limit: 'primary' | 'secondary';
  retryAfter: number;
}

/**
 * GitHub's two rate limits out of a failed request: a secondary limit (403/429 saying so; its
 * Retry-After) or an exhausted primary limit (`x-ratelimit-remaining: 0`; until `x-ratelimit-reset`).
 */
export function rateLimitOf(err: unknown, now = Date.now()): RateLimit | undefined {
  const e = err as { status?: number; message?: string; response?: { headers?: Record<string, string> } };
  if (e?.status !== 403 && e?.status !== 429) return undefined;
  const headers = e.response?.headers ?? {};
  if (/\bsecondary rate\b/i.test(e.message ?? '')) {
    return { limit: 'secondary', retryAfter: Number(headers['retry-after']) || SECONDARY_FALLBACK_S };
  }
  if (headers['x-ratelimit-remaining'] === '0') {
    const resetMs = Number(headers['x-ratelimit-reset'] ?? 0) * 1000;
    // One second past the reset, as GitHub's docs advise.
    return { limit: 'primary', retryAfter: Math.max(Math.ceil((resetMs - now) / 1000) + 1, 0) };
  }
  return undefined;
}

interface RequestOptions {
  method: string;
  url: string;
}

/**
 * An Octokit `request` hook that waits out rate limits a few times before giving up: the secondary
 * limit's Retry-After also holds off every process's writes under the client's pace key.
 */
export function waitOutRateLimits(log: Logger, slot: PaceSlot | undefined) {
  return async <O extends RequestOptions, R>(request: (o: O) => R | Promise<R>, options: O): Promise<R> => {
    for (let retryCount = 0; ; retryCount++) {
      try {
        return await request(options);
      } catch (err) {
        const limit = rateLimitOf(err);
        if (!limit) throw err;
        if (limit.limit === 'secondary' && slot) {
          await slot.pace.holdOff(slot.key, limit.retryAfter * 1000).catch(() => undefined);
        }
        const retrying = retryCount < RATE_LIMIT_RETRIES && limit.retryAfter <= RATE_LIMIT_MAX_WAIT_S;
        // `url` is the route template (`/repos/{owner}/{repo}`), never a credential.
        log.warn(
          { ...limit, retryCount, method: options.method, url: options.url, retrying },
          retrying ? 'github rate limit, waiting' : 'github rate limit, giving up',
        );
        if (!retrying) throw err;
        await new Promise((resolve) => setTimeout(resolve, limit.retryAfter * 1000));
      }
    }
  };
}

/** A token's pace key: a hash prefix, never the token (the key is visible to anyone reading Redis). */
export function tokenPaceKey(token: string): string {
  return `token:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
}
