import { z } from 'zod';
import { PatchbayError } from '../../domain/errors.js';
import type { KeyValueStore } from '../../domain/ports.js';
import type { Logger } from '../../lib/logger.js';
import { createSealer } from '../../lib/seal.js';

/** What Linear's token endpoint answers (https://linear.app/developers/oauth-2-0-authentication). */
export const TokenGrant = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1).optional(),
  expires_in: z.number().positive().optional(),
  scope: z.union([z.string(), z.array(z.string())]).optional(),
});
export type TokenGrant = z.infer<typeof TokenGrant>;

/** One workspace's installation, sealed in Redis. */
const Installation = z.object({
  organizationId: z.string(),
  organizationName: z.string(),
  accessToken: z.string(),
  refreshToken: z.string().optional(),
  /** Epoch ms; absent for a token that does not expire. */
  expiresAt: z.number().optional(),
  scope: z.string().optional(),
  installedAt: z.number(),
});
type Installation = z.infer<typeof Installation>;

export interface LinearTokenDeps {
  kv: KeyValueStore;
  clientId: string;
  clientSecret: string;
  /** Linear's is https://api.linear.app/oauth/token. */
  tokenUrl: string;
  log: Logger;
  now?: () => number;
  /** Refresh when less than this is left (default 10 minutes). */
  refreshMarginMs?: number;
}

/** Installations are kept a year after their last refresh; a workspace idle longer installs again. */
const KEEP_SECONDS = 365 * 24 * 3600;
const REFRESH_LOCK_SECONDS = 30;

/**
 * The Linear agent's OAuth tokens, per workspace: kept in Redis sealed with a key derived from the
 * client secret, and refreshed shortly before they expire. Linear rotates refresh tokens (the old
 * one stops working once used), so exactly one process refreshes a workspace at a time, under a
 * Redis lease; the others wait for the new tokens instead of spending the old refresh token twice.
 */
export function createLinearTokens(deps: LinearTokenDeps) {
  const now = deps.now ?? Date.now;
  const margin = deps.refreshMarginMs ?? 10 * 60_000;
  const sealer = createSealer(deps.clientSecret, 'linear-oauth-tokens');
  const keyOf = (org: string) => `oauth:org:${org}`;
  const DEFAULT_KEY = 'oauth:default';

  async function read(org: string): Promise<Installation | null> {
    const sealed = await deps.kv.get(keyOf(org));
    const plain = sealed ? sealer.open(sealed) : null;
    if (!plain) return null;
    const parsed = Installation.safeParse(JSON.parse(plain));
    return parsed.success ? parsed.data : null;
  }

  async function write(inst: Installation): Promise<void> {
    await deps.kv.set(keyOf(inst.organizationId), sealer.seal(JSON.stringify(inst)), KEEP_SECONDS);
  }

  /** Swaps a code or a refresh token for tokens at Linear's token endpoint. */
  async function grant(form: Record<string, string>): Promise<TokenGrant> {
    const body = new URLSearchParams({ ...form, client_id: deps.clientId, client_secret: deps.clientSecret });
    let res: Response;
    try {
      res = await fetch(deps.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new PatchbayError(
        'internal',
        `Linear's token endpoint did not answer: ${(err as Error).message}`,
      );
    }
    const json: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const error = z.object({ error: z.string().max(100) }).safeParse(json);
      const reason = error.success ? error.data.error : `HTTP ${res.status}`;
      const refused = res.status >= 400 && res.status < 500;
      throw new PatchbayError('invalid_config', `Linear refused the ${form.grant_type} grant: ${reason}`, {
        permanent: refused,
        hint: refused
          ? 'install the Linear agent again through GET /linear/oauth/install (see docs/linear.md)'
          : undefined,
      });
    }
    const parsed = TokenGrant.safeParse(json);
    if (!parsed.success)
      throw new PatchbayError('internal', "Linear's token endpoint answered without a token");
    return parsed.data;
  }

  function toInstallation(g: TokenGrant, org: { id: string; name: string }, prev?: Installation) {
    return Installation.parse({
      organizationId: org.id,
      organizationName: org.name,
      accessToken: g.access_token,
      // A refresh that hands out no new refresh token leaves the old one valid.
      refreshToken: g.refresh_token ?? prev?.refreshToken,
      expiresAt: g.expires_in ? now() + g.expires_in * 1_000 : undefined,
      scope: Array.isArray(g.scope) ? g.scope.join(',') : g.scope,
      installedAt: prev?.installedAt ?? now(),
    });
  }

  /** Stores a new installation; the newest one is also the default for events without a workspace. */
  async function install(g: TokenGrant, org: { id: string; name: string }): Promise<void> {
    await write(toInstallation(g, org));
    await deps.kv.set(DEFAULT_KEY, org.id, KEEP_SECONDS);
    deps.log.info({ organization: org.id }, 'linear agent installed');
  }

  function fresh(inst: Installation): boolean {
    return inst.expiresAt === undefined || inst.expiresAt - now() > margin || !inst.refreshToken;
  }

  async function refresh(org: string): Promise<Installation> {
    const deadline = now() + REFRESH_LOCK_SECONDS * 1_000;
    for (;;) {
      const current = await read(org);
      if (!current) throw notInstalled(org);
      if (fresh(current)) return current;
      const lock = await deps.kv.tryLock(`oauth:refreshing:${org}`, REFRESH_LOCK_SECONDS);
      if (lock) {
        try {
          // Read again under the lease: another process may have refreshed meanwhile.
          const latest = (await read(org)) ?? current;
          if (fresh(latest) || !latest.refreshToken) return latest;
          const g = await grant({ grant_type: 'refresh_token', refresh_token: latest.refreshToken });
          const next = toInstallation(g, { id: org, name: latest.organizationName }, latest);
          await write(next);
          deps.log.info({ organization: org }, 'linear token refreshed');
          return next;
        } finally {
          await lock.release();
        }
      }
      if (now() > deadline)
        throw new PatchbayError('internal', 'timed out waiting for a Linear token refresh');
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  /**
   * A usable access token for the workspace (`organizationId` of the webhook), or of the newest
   * installation when the event names none. Throws when Patchbay is not installed there.
   */
  async function accessTokenFor(organizationId?: string): Promise<string> {
    const org = organizationId ?? (await deps.kv.get(DEFAULT_KEY));
    if (!org) throw notInstalled(undefined);
    const inst = await read(org);
    if (!inst) throw notInstalled(org);
    return (fresh(inst) ? inst : await refresh(org)).accessToken;
  }

  async function isInstalled(organizationId: string): Promise<boolean> {
    return (await read(organizationId)) !== null;
  }

  return { grant, install, accessTokenFor, isInstalled };
}
export type LinearTokens = ReturnType<typeof createLinearTokens>;

function notInstalled(org: string | undefined): PatchbayError {
  return new PatchbayError(
    'invalid_config',
    org ? `the Linear agent is not installed in workspace ${org}` : 'the Linear agent is not installed',
    { hint: 'open /linear/oauth/install on Patchbay to install it (see docs/linear.md)' },
  );
}
