import { describe, expect, it } from 'vitest';
import {
  isContentWrite,
  isUrgentWrite,
  rateLimitOf,
  tokenPaceKey,
} from '../../src/integrations/github/github-pacing.js';

describe('which GitHub requests wait for the write pace', () => {
  it('paces every POST, PATCH, PUT and DELETE but an installation token’s issue; never a read', () => {
    expect(isContentWrite('POST', '/repos/acme/web/pulls')).toBe(true);
    expect(isContentWrite('PATCH', '/api/v3/repos/acme/web/pulls/3')).toBe(true);
    expect(isContentWrite('DELETE', '/repos/acme/web/git/refs/heads/x')).toBe(true);
    expect(isContentWrite('GET', '/repos/acme/web/pulls')).toBe(false);
    expect(isContentWrite('POST', '/app/installations/77/access_tokens')).toBe(false);
  });

  it('takes reactions (the 👀 acknowledgement) as urgent, and nothing else', () => {
    expect(isUrgentWrite('POST', '/repos/acme/web/pulls/comments/9/reactions')).toBe(true);
    expect(isUrgentWrite('POST', '/repos/acme/web/issues/comments/9/reactions')).toBe(true);
    expect(isUrgentWrite('POST', '/repos/acme/web/issues/3/comments')).toBe(false);
  });

  it('keys a token by a hash of it', () => {
    expect(tokenPaceKey('ghp_secret')).toMatch(/^token:[0-9a-f]{16}$/);
    expect(tokenPaceKey('ghp_secret')).not.toContain('secret');
  });
});

describe('GitHub rate limits out of a failed request', () => {
  const failure = (status: number, message: string, headers: Record<string, string> = {}) => ({
    status,
    message,
    response: { headers },
  });

  it('reads a secondary limit’s Retry-After, and a minute without one', () => {
    expect(
      rateLimitOf(failure(403, 'You have exceeded a secondary rate limit', { 'retry-after': '3' })),
    ).toEqual({
      limit: 'secondary',
      retryAfter: 3,
    });
    expect(rateLimitOf(failure(429, 'You have exceeded a secondary rate limit'))).toEqual({
      limit: 'secondary',
      retryAfter: 60,
    });
  });

  it('waits for a primary limit’s reset, one second past it', () => {
    const now = 1_700_000_000_000;
    const err = failure(403, 'API rate limit exceeded', {
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(now / 1000 + 10),
    });

    expect(rateLimitOf(err, now)).toEqual({ limit: 'primary', retryAfter: 11 });
  });

  it('is no rate limit when access is missing', () => {
    expect(rateLimitOf(failure(403, 'Resource not accessible by integration'))).toBeUndefined();
    expect(rateLimitOf(failure(500, 'secondary rate limit'))).toBeUndefined();
  });
});
