import type { LinearClient } from '@linear/sdk';
import type { KeyValueStore } from '../../domain/ports.js';
import type { Logger } from '../../lib/logger.js';
import type { HttpServer } from '../../server/http-server.js';
import { createLinearClient, type LinearClientFor } from './linear-api.js';
import { registerLinearOAuthRoutes } from './linear-oauth-routes.js';
import { createLinearTokens } from './linear-token-store.js';

export interface LinearAgentInstall {
  /** The agent's client for a workspace, with a token refreshed before it expires. */
  clientFor: LinearClientFor;
  isInstalled(organizationId: string | undefined): Promise<boolean>;
  /** `GET /linear/oauth/install` and `GET /linear/oauth/callback`. */
  registerRoutes(http: HttpServer): void;
}

/**
 * The Linear agent as an OAuth app (`actor=app`): installed per workspace through the install routes,
 * its tokens kept in Redis, and a client per current token. Linear's token endpoint sits beside its
 * GraphQL endpoint (`https://api.linear.app/oauth/token`), so `LINEAR_API_URL` points at both.
 */
export function createLinearAgentInstall(deps: {
  clientId: string;
  clientSecret: string;
  apiUrl: string;
  publicUrl?: string;
  kv: KeyValueStore;
  log: Logger;
}): LinearAgentInstall {
  const tokens = createLinearTokens({
    kv: deps.kv,
    clientId: deps.clientId,
    clientSecret: deps.clientSecret,
    tokenUrl: new URL('/oauth/token', deps.apiUrl).toString(),
    log: deps.log,
  });
  // One client per live token: a refreshed token gets a new client, the old one is dropped.
  const clients = new Map<string, { token: string; client: LinearClient }>();

  return {
    async clientFor(organizationId) {
      const token = await tokens.accessTokenFor(organizationId);
      const key = organizationId ?? '';
      const cached = clients.get(key);
      if (cached?.token === token) return cached.client;
      const client = createLinearClient({ accessToken: token, apiUrl: deps.apiUrl });
      clients.set(key, { token, client });
      return client;
    },
    async isInstalled(organizationId) {
      return organizationId
        ? tokens.isInstalled(organizationId)
        : tokens.accessTokenFor(undefined).then(
            () => true,
            () => false,
          );
    },
    registerRoutes(http) {
      registerLinearOAuthRoutes(http, {
        clientId: deps.clientId,
        tokens,
        kv: deps.kv,
        apiUrl: deps.apiUrl,
        publicUrl: deps.publicUrl,
        log: deps.log,
      });
    },
  };
}
