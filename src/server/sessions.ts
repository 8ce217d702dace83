import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { KeyValueStore } from '../domain/ports.js';
import type { Clock } from '../lib/clock.js';

/** How long a sign-in lasts, from the moment it was made (not renewed by use). */
export const SESSION_TTL_MS = 12 * 3600_000;

const SessionRecord = z.object({
  /** The GitHub login, or `operator`. */
  login: z.string().min(1).max(100),
  operator: z.boolean(),
  githubId: z.number().int().optional(),
  createdAt: z.number(),
  expiresAt: z.number(),
});

/** A signed-in browser: who it is and until when. */
export interface Session extends z.infer<typeof SessionRecord> {
  readonly id: string;
}

/**
 * The key that signs session cookies and derives form tokens, from the secrets sign-in already
 * depends on: the operator's `PATCHBAY_API_TOKEN` and the `GITHUB_CLIENT_SECRET`. Rotating either
 * ends every session (a leaked operator token must not leave its sessions alive). Undefined when
 * neither is set: then nobody can sign in. Hex, so that the redactor can look for it in text.
 */
export function deriveSessionKey(secrets: {
  apiToken?: string | undefined;
  clientSecret?: string | undefined;
}): string | undefined {
  if (!secrets.apiToken && !secrets.clientSecret) return undefined;
  const material = JSON.stringify([secrets.apiToken ?? '', secrets.clientSecret ?? '']);
  return Buffer.from(hkdfSync('sha256', material, 'patchbay', 'session-cookies', 32)).toString('hex');
}

/**
 * Sessions kept in Redis (any server process reads them, a restart keeps them, logout deletes
 * one), each behind a random id. The cookie carries the id and its HMAC, so a guessed or altered
 * cookie is refused before Redis is asked. Expiry is checked on `clock`, and Redis drops the record
 * at the same time.
 */
export function createSessions(deps: {
  kv: KeyValueStore;
  key: string;
  clock: Pick<Clock, 'now'>;
  ttlMs?: number;
}) {
  const key = Buffer.from(deps.key, 'hex');
  const ttlMs = deps.ttlMs ?? SESSION_TTL_MS;
  const recordKey = (id: string) => `session:${id}`;
  const mac = (purpose: string, value: string) =>
    createHmac('sha256', key).update(`${purpose}\0${value}`).digest('base64url');

  /** The id inside a cookie value, when its signature holds. */
  function idOf(cookie: string | undefined): string | undefined {
    const [id, signature, ...rest] = (cookie ?? '').split('.');
    if (!id || !signature || rest.length > 0) return undefined;
    return equalSecrets(signature, mac('session', id)) ? id : undefined;
  }

  return {
    ttlMs,

    /** Starts a session; answers it and the value for its cookie. */
    async create(user: { login: string; operator: boolean; githubId?: number }) {
      const id = randomBytes(24).toString('base64url');
      const now = deps.clock.now();
      const record = { ...user, createdAt: now, expiresAt: now + ttlMs };
      await deps.kv.set(recordKey(id), JSON.stringify(record), Math.ceil(ttlMs / 1000));
      return { session: { id, ...record } as Session, cookie: `${id}.${mac('session', id)}` };
    },

    /** The session of a cookie value, or null when it is unsigned, altered, ended or expired. */
    async read(cookie: string | undefined): Promise<Session | null> {
      const id = idOf(cookie);
      if (!id) return null;
      const stored = await deps.kv.get(recordKey(id));
      if (!stored) return null;
      const parsed = SessionRecord.safeParse(parseJson(stored));
      if (!parsed.success || parsed.data.expiresAt <= deps.clock.now()) return null;
      return { id, ...parsed.data };
    },

    /** Ends the session of a cookie value: the cookie no longer works anywhere. */
    async end(cookie: string | undefined): Promise<void> {
      const id = idOf(cookie);
      if (id) await deps.kv.delete(recordKey(id));
    },

    /**
     * A token for forms, bound to `value` for `purpose`: a session's CSRF token (`csrf`, its id), or
     * the sign-in form's (`login`, the browser's sign-in cookie). A page elsewhere cannot compute it.
     */
    formToken(purpose: 'csrf' | 'login', value: string): string {
      return mac(`form:${purpose}`, value);
    },
  };
}
export type Sessions = ReturnType<typeof createSessions>;

/**
 * Whether a presented secret (a token, a signature) is the expected one, in time that tells nothing of
 * where they differ nor of the expected one's length: their SHA-256 digests are compared.
 */
export function equalSecrets(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
