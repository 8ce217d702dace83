import { randomBytes } from 'node:crypto';
import { DOCS, presented } from './github-stand-in-replies.js';
import type { HttpStandIn, RecordedCall, StandInHandler, StandInReply } from './http-stand-in.js';

/** The client id and secret of the GitHub App (its user authorization) or OAuth app people sign in with. */
export interface StandInOAuthApp {
  clientId: string;
  clientSecret: string;
}

/** A user token the stand-in issued at its token endpoint. */
export interface StandInUserToken {
  token: string;
  login: string;
}

/** GitHub's codes live ten minutes. */
const CODE_LIFETIME_MS = 10 * 60_000;

/**
 * GitHub's web sign-in flow (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps):
 * `GET /login/oauth/authorize` consents at once as the person the test named (`signInAs`) and sends
 * the browser back to `redirect_uri` with a code and the state; `POST /login/oauth/access_token`
 * checks the client id and secret and takes a code once; `GET /user` answers who a user token is.
 * These routes sit on the web host (`GITHUB_SERVER_URL`), beside the REST routes under the prefix.
 */
export function createOAuthState(app: StandInOAuthApp | undefined, now: () => number = Date.now) {
  let consenting: string | null = null;
  const codes = new Map<
    string,
    { login: string; clientId: string; redirectUri: string; expiresAt: number }
  >();
  const tokens: StandInUserToken[] = [];
  const ids = new Map<string, number>();
  const idOf = (login: string) => {
    if (!ids.has(login.toLowerCase())) ids.set(login.toLowerCase(), 1000 + ids.size);
    return ids.get(login.toLowerCase()) ?? 0;
  };

  function authorize(call: RecordedCall): StandInReply {
    const clientId = call.query.get('client_id');
    const redirectUri = call.query.get('redirect_uri');
    if (!app || clientId !== app.clientId || !redirectUri) return { status: 404, text: 'Not Found' };
    const back = new URL(redirectUri);
    const state = call.query.get('state');
    if (state !== null) back.searchParams.set('state', state);
    if (consenting === null) {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user has denied your application access.');
    } else {
      const code = randomBytes(10).toString('hex');
      codes.set(code, { login: consenting, clientId, redirectUri, expiresAt: now() + CODE_LIFETIME_MS });
      back.searchParams.set('code', code);
    }
    return { status: 302, headers: { location: back.toString() } };
  }

  function exchange(call: RecordedCall): StandInReply {
    const form = formOf(call);
    const refuse = (error: string, description: string): StandInReply => ({
      json: { error, error_description: description, error_uri: DOCS },
    });
    if (!app || form.client_id !== app.clientId || form.client_secret !== app.clientSecret)
      return refuse(
        'incorrect_client_credentials',
        'The client_id and/or client_secret passed are incorrect.',
      );
    const grant = codes.get(form.code ?? '');
    codes.delete(form.code ?? '');
    if (!grant || grant.clientId !== form.client_id || grant.expiresAt <= now())
      return refuse('bad_verification_code', 'The code passed is incorrect or expired.');
    if (form.redirect_uri && form.redirect_uri !== grant.redirectUri)
      return refuse(
        'redirect_uri_mismatch',
        'The redirect_uri MUST match the registered callback URL for this application.',
      );
    const issued = { token: `ghu_${randomBytes(18).toString('hex')}`, login: grant.login };
    tokens.push(issued);
    return { json: { access_token: issued.token, token_type: 'bearer', scope: '' } };
  }

  return {
    tokens,
    /** Who consents at the next `authorize`; null declines (GitHub's `error=access_denied`). */
    signInAs(login: string | null) {
      consenting = login;
    },
    /** `GET /user` for a token this flow issued, else undefined (the other identities answer). */
    userOf(call: RecordedCall): StandInReply | undefined {
      const token = presented(call);
      const user = tokens.find((t) => t.token === token);
      return user ? { json: { login: user.login, id: idOf(user.login), type: 'User' } } : undefined;
    },
    register(http: HttpStandIn, guard: (h: StandInHandler) => StandInHandler) {
      http.on('GET /login/oauth/authorize', guard(authorize));
      http.on('POST /login/oauth/access_token', guard(exchange));
    },
  };
}
export type OAuthState = ReturnType<typeof createOAuthState>;

/** The token request's fields: JSON or a urlencoded form, as GitHub takes both. */
function formOf(call: RecordedCall): Record<string, string | undefined> {
  if (call.body && typeof call.body === 'object') {
    const body = call.body as Record<string, unknown>;
    return Object.fromEntries(
      Object.entries(body).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]),
    );
  }
  return Object.fromEntries(new URLSearchParams(call.raw));
}
