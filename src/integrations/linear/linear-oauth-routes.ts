import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LinearClient } from '@linear/sdk';
import { z } from 'zod';
import { PatchbayError } from '../../domain/errors.js';
import type { KeyValueStore } from '../../domain/ports.js';
import type { Logger } from '../../lib/logger.js';
import type { HttpServer } from '../../server/http-server.js';
import type { LinearTokens } from './linear-token-store.js';

/** Linear's consent screen. */
export const LINEAR_AUTHORIZE_URL = 'https://linear.app/oauth/authorize';
/** What the agent needs: read issues, write activities and comments, be assigned and mentioned. */
export const LINEAR_AGENT_SCOPES = ['read', 'write', 'app:assignable', 'app:mentionable'];
const STATE_SECONDS = 600;

export interface LinearOAuthDeps {
  clientId: string;
  tokens: LinearTokens;
  kv: KeyValueStore;
  /** GraphQL endpoint, to learn which workspace a new token belongs to. */
  apiUrl: string;
  /** Where Patchbay is reachable from browsers (`PATCHBAY_PUBLIC_URL`); else the request's host. */
  publicUrl?: string;
  authorizeUrl?: string;
  log: Logger;
}

const Installed = z.object({
  organization: z.object({ id: z.string().min(1), name: z.string().max(200) }),
});

/**
 * The Linear agent's install (https://linear.app/developers/agents): `GET /linear/oauth/install`
 * sends the browser to Linear's consent screen with `actor=app`, and `GET /linear/oauth/callback`
 * swaps the code for tokens and keeps them (see linear-token-store.ts). The `state` is random, kept
 * ten minutes and usable once, so a callback that Patchbay did not start is refused.
 */
export function registerLinearOAuthRoutes(http: HttpServer, deps: LinearOAuthDeps): void {
  http.route('GET', '/linear/oauth/install', async (req, res) => {
    const state = randomBytes(24).toString('base64url');
    const redirectUri = callbackUrl(req, deps.publicUrl);
    await deps.kv.set(`oauth:state:${state}`, redirectUri, STATE_SECONDS);
    const target = new URL(deps.authorizeUrl ?? LINEAR_AUTHORIZE_URL);
    target.search = new URLSearchParams({
      client_id: deps.clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: LINEAR_AGENT_SCOPES.join(','),
      state,
      actor: 'app',
    }).toString();
    res.writeHead(302, { location: target.toString(), 'cache-control': 'no-store' });
    res.end();
  });

  http.route('GET', '/linear/oauth/callback', async (req, res) => {
    const query = new URL(req.url ?? '/', 'http://patchbay').searchParams;
    const state = query.get('state');
    const redirectUri = state && state.length <= 100 ? await deps.kv.take(`oauth:state:${state}`) : null;
    if (!redirectUri) {
      deps.log.warn('linear oauth callback with an unknown or used state');
      return sendPage(
        res,
        400,
        'This install link has expired or was already used. Start again from /linear/oauth/install.',
      );
    }
    const denied = query.get('error');
    if (denied) {
      deps.log.info({ error: denied.slice(0, 100) }, 'linear oauth install declined');
      return sendPage(res, 400, 'Linear did not grant access, so nothing was installed.');
    }
    const code = query.get('code');
    if (!code || code.length > 500) return sendPage(res, 400, 'The callback carries no code.');
    try {
      const grant = await deps.tokens.grant({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
      });
      const { organization } = await readOrganization(deps.apiUrl, grant.access_token);
      await deps.tokens.install(grant, organization);
      sendPage(res, 200, `Patchbay is installed in ${organization.name}. Delegate an issue to it to start.`);
    } catch (err) {
      const message = err instanceof PatchbayError ? err.message : 'Linear could not be reached';
      deps.log.warn({ err: message }, 'linear oauth install failed');
      sendPage(res, 502, `The install did not complete: ${message}. Nothing was stored; try again.`);
    }
  });
}

async function readOrganization(apiUrl: string, accessToken: string) {
  const client = new LinearClient({ accessToken, apiUrl });
  const res = await client.client.rawRequest<unknown, Record<string, never>>(
    'query PatchbayInstall { organization { id name } }',
    {},
  );
  const parsed = Installed.safeParse(res.data);
  if (!parsed.success) throw new PatchbayError('internal', 'Linear did not say which workspace this is');
  return parsed.data;
}

function callbackUrl(req: IncomingMessage, publicUrl: string | undefined): string {
  if (publicUrl) return new URL('/linear/oauth/callback', publicUrl).toString();
  // Linear only redirects to a callback URL registered for the app, so a forged Host cannot
  // send the code elsewhere; PATCHBAY_PUBLIC_URL avoids relying on the proxy's headers at all.
  const proto =
    String(req.headers['x-forwarded-proto'] ?? 'http')
      .split(',')[0]
      ?.trim() || 'http';
  const host = String(req.headers['x-forwarded-host'] ?? req.headers.host ?? 'localhost');
  return new URL('/linear/oauth/callback', `${proto === 'https' ? 'https' : 'http'}://${host}`).toString();
}

function sendPage(res: ServerResponse, status: number, text: string): void {
  const escaped = text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><meta charset="utf-8"><title>Patchbay</title><p>${escaped}</p>\n`);
}
