import type { RecordedCall, StandInReply } from '../../src/demo/http-stand-in.js';

/** The JSON Linear's token endpoint answers; the stand-in fills in what a handler leaves out. */
export interface TokenReply {
  access_token: string;
  refresh_token?: string;
  expires_in?: number;
  token_type?: string;
  scope?: string;
}

/** Answers one token request: a token (200), or any reply (`{ status: 400, json: { error } }`). */
export type TokenHandler = (
  form: Record<string, string>,
  call: RecordedCall,
) => TokenReply | StandInReply | Promise<TokenReply | StandInReply>;

const SCOPE = 'read write app:assignable app:mentionable';

function oauthError(status: number, error: string, description: string): StandInReply {
  return { status, json: { error, error_description: description } };
}

/** client_id and client_secret come in the form or as HTTP Basic credentials (RFC 6749 §2.3.1). */
function clientOf(form: Record<string, string>, call: RecordedCall): { id?: string; secret?: string } {
  const header = call.headers.authorization;
  if (header?.startsWith('Basic ')) {
    const [id, secret] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':', 2);
    return { id, secret };
  }
  return { id: form.client_id, secret: form.client_secret };
}

/**
 * Linear's OAuth token endpoint: `authorization_code` (with `code`) and `refresh_token` grants,
 * tokens that expire in a day, and refresh tokens that rotate: each refresh hands out a new one and
 * the old one is refused afterwards, so that code which keeps a stale refresh token fails here too.
 */
export function createTokenIssuer(client?: { id: string; secret: string }) {
  let issued = 0;
  const liveRefreshTokens = new Set<string>();

  function issue(): TokenReply {
    issued += 1;
    const refresh = `lin_refresh_standin_${issued}`;
    liveRefreshTokens.add(refresh);
    return {
      access_token: `lin_oauth_standin_${issued}`,
      refresh_token: refresh,
      expires_in: 86399,
      token_type: 'Bearer',
      scope: SCOPE,
    };
  }

  const byGrant: TokenHandler = (form) => {
    if (form.grant_type === 'authorization_code') {
      if (!form.code) return oauthError(400, 'invalid_request', 'code is required');
      return issue();
    }
    if (form.grant_type === 'refresh_token') {
      const token = form.refresh_token ?? '';
      if (!liveRefreshTokens.delete(token)) return oauthError(400, 'invalid_grant', 'unknown refresh token');
      return issue();
    }
    return oauthError(400, 'unsupported_grant_type', `grant_type ${form.grant_type ?? '(none)'}`);
  };
  let handler: TokenHandler = byGrant;

  async function answer(call: RecordedCall): Promise<StandInReply> {
    const form = Object.fromEntries(new URLSearchParams(call.raw));
    if (client) {
      const given = clientOf(form, call);
      if (given.id !== client.id || given.secret !== client.secret) {
        return oauthError(401, 'invalid_client', 'client authentication failed');
      }
    }
    const reply = await handler(form, call);
    if (!('access_token' in reply)) return reply;
    return { status: 200, json: { token_type: 'Bearer', expires_in: 86399, scope: SCOPE, ...reply } };
  }

  return {
    answer,
    replace(next: TokenHandler) {
      handler = next;
    },
  };
}
