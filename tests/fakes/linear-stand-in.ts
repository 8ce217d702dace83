import { fileURLToPath } from 'node:url';
import type { IMockStore } from '@graphql-tools/mock';
import { type DocumentNode, execute, parse } from 'graphql/index.js';
import { type RecordedCall, type StandInReply, startHttpStandIn } from '../../src/demo/http-stand-in.js';
import { toLenientRequest } from './linear-lenient.js';
import {
  createLinearMock,
  type LinearMutation,
  type LinearRequestContext,
  loadLinearSchema,
  type MutationResolver,
} from './linear-mock.js';
import { createTokenIssuer, type TokenHandler } from './linear-oauth.js';

export type { LinearMutation, MutationResolver } from './linear-mock.js';
export type { TokenHandler, TokenReply } from './linear-oauth.js';

/** Linear's published GraphQL schema, vendored so that a clone of Patchbay alone can run its tests. */
export const LINEAR_SCHEMA_PATH = fileURLToPath(
  new URL('../fixtures/linear/schema.graphql', import.meta.url),
);

export interface LinearStandInOptions {
  schemaPath?: string;
  /** Default `/graphql` (Linear's is https://api.linear.app/graphql). */
  graphqlPath?: string;
  /** Default `/oauth/token` (Linear's is https://api.linear.app/oauth/token). */
  tokenPath?: string;
  /** Which `Authorization` values are let in; default: any non-empty one (API key, `Bearer …`). */
  authorize?: (authorization: string) => boolean;
  /** The OAuth app the token endpoint accepts; absent, any client id and secret are taken. */
  client?: { id: string; secret: string };
  /** How far in the future a rate-limited answer's `X-RateLimit-Requests-Reset` lies; default 1000. */
  rateLimitResetMs?: number;
}

export interface LinearStandIn {
  /** The GraphQL endpoint, for `new LinearClient({ apiKey | accessToken, apiUrl: url })`. */
  url: string;
  /** The OAuth token endpoint (form-encoded `grant_type=authorization_code | refresh_token`). */
  tokenUrl: string;
  /**
   * Every mutation root field executed, in order, with the request's variables as sent; a create
   * refused because its `input.id` was already used (as Linear refuses it) is not among them.
   */
  mutations: LinearMutation[];
  /** Every request to the GraphQL endpoint, including refused and failed ones. */
  requests: RecordedCall[];
  /** Every request to the token endpoint. */
  tokenRequests: RecordedCall[];
  /** Requests to any other path (answered 501); a test asserts this stays empty. */
  unmatched: RecordedCall[];
  /** Variables and input fields the schema file does not know, left out of execution. */
  dropped: string[];
  /** The mock store, for what `pin` does not cover (`store.get('Query', 'ROOT', 'viewer')`). */
  store: IMockStore;
  mutationsNamed(name: string): LinearMutation[];
  /**
   * Pin an object: queries by id (`issue(id:)`, also by identifier `ENG-123`; `team`,
   * `agentSession`, `comment`, …) answer these fields merged over generated ones, nested objects
   * and connections included (`team: { id: 't1' }`, `comments: { nodes: [{ body }] }`). Pinning an
   * `Organization` makes it the `organization`; `pin('Query', 'ROOT', { viewer: {…} })` sets the viewer.
   */
  pin(typeName: string, id: string, fields: Record<string, unknown>): void;
  /** Answer a mutation with this (merged over the generated payload), after recording it. */
  on(mutationName: string, resolver: MutationResolver): void;
  /**
   * The next GraphQL request whose query has this root field (`issue`, `viewer`, …) is answered only
   * once `until` settled: a slow Linear, for timing tests.
   */
  holdNext(rootField: string, until: Promise<unknown>): void;
  /**
   * The next `times` GraphQL requests fail with `status`. Without a body: 400 and 429 answer as a
   * Linear rate limit (`RATELIMITED`, `X-RateLimit-*` headers), 401 as an authentication error,
   * 403 as forbidden, 500 as an internal error, other 5xx as a plain-text gateway error.
   */
  failNext(status: number, times?: number, body?: unknown): void;
  /** Replace how the token endpoint answers. */
  onToken(handler: TokenHandler): void;
  close(): Promise<void>;
}

/** Linear's errors carry the SDK's `extensions.type` (which picks the `LinearError` class) and a `code`. */
function linearError(message: string, type: string, code: string, statusCode: number) {
  return {
    errors: [
      {
        message,
        extensions: { type, code, statusCode, userError: true, userPresentableMessage: message },
      },
    ],
  };
}

const unauthenticated: StandInReply = {
  status: 401,
  json: linearError(
    'Authentication required, not authenticated',
    'authentication error',
    'AUTHENTICATION_ERROR',
    401,
  ),
};

function failure(status: number, body: unknown, resetMs: number): StandInReply {
  if (body !== undefined) return { status, json: body };
  if (status === 400 || status === 429) {
    const reset = String(Date.now() + resetMs);
    return {
      status,
      headers: {
        'X-RateLimit-Requests-Limit': '5000',
        'X-RateLimit-Requests-Remaining': '0',
        'X-RateLimit-Requests-Reset': reset,
      },
      json: linearError('Rate limit exceeded', 'ratelimited', 'RATELIMITED', 429),
    };
  }
  if (status === 401) return unauthenticated;
  if (status === 403) return { status, json: linearError('Forbidden', 'forbidden', 'FORBIDDEN', 403) };
  if (status === 500) {
    return { status, json: linearError('Internal error', 'internal error', 'INTERNAL_SERVER_ERROR', 500) };
  }
  return { status, text: 'upstream unavailable', headers: { 'content-type': 'text/plain' } };
}

interface GraphQLBody {
  query?: unknown;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/**
 * A stand-in for Linear's API built from Linear's published schema: the real `LinearClient` gets a
 * complete, schema-shaped answer to every query (generated by `@graphql-tools/mock`), with the
 * objects a test cares about pinned. Documents are executed without validation, so fields newer
 * than the schema file are left out of the answer; mutations are recorded and answer
 * `success: true` unless overridden.
 */
export async function startLinearStandIn(opts: LinearStandInOptions = {}): Promise<LinearStandIn> {
  const base = await loadLinearSchema(opts.schemaPath ?? LINEAR_SCHEMA_PATH);
  const mutations: LinearMutation[] = [];
  const requests: RecordedCall[] = [];
  const tokenRequests: RecordedCall[] = [];
  const dropped: string[] = [];
  const failures: Array<{ status: number; body: unknown }> = [];
  const holds: Array<{ rootField: string; until: Promise<unknown> }> = [];
  const mock = createLinearMock(base, (m) => mutations.push(m));
  const tokens = createTokenIssuer(opts.client);
  const authorize = opts.authorize ?? ((value: string) => value.trim() !== '');
  const graphqlPath = opts.graphqlPath ?? '/graphql';
  const tokenPath = opts.tokenPath ?? '/oauth/token';

  async function answerGraphQL(call: RecordedCall): Promise<StandInReply> {
    requests.push(call);
    const query = String((call.body as GraphQLBody | undefined)?.query ?? '');
    const hold = holds.find((h) => new RegExp(`[{\\s]${h.rootField}\\s*[({]`).test(query));
    if (hold) {
      holds.splice(holds.indexOf(hold), 1);
      await hold.until.catch(() => undefined);
    }
    const authorization = call.headers.authorization;
    if (!authorization || !authorize(authorization)) return unauthenticated;
    const forced = failures.shift();
    if (forced) return failure(forced.status, forced.body, opts.rateLimitResetMs ?? 1000);

    const body = (typeof call.body === 'object' && call.body !== null ? call.body : {}) as GraphQLBody;
    if (typeof body.query !== 'string') {
      return {
        status: 400,
        json: linearError('Must provide query string.', 'graphql error', 'BAD_REQUEST', 400),
      };
    }
    let document: DocumentNode;
    try {
      document = parse(body.query);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { status: 400, json: linearError(message, 'graphql error', 'GRAPHQL_PARSE_FAILED', 400) };
    }
    const variables = body.variables ?? {};
    const lenient = toLenientRequest(base, document, variables);
    dropped.push(...lenient.dropped);
    if (lenient.unknownRootFields.length > 0) {
      // A root field the file lacks cannot be answered in shape; say so rather than answer `{}`.
      const message = `stand-in schema has no ${lenient.unknownRootFields.join(', ')}`;
      return { status: 400, json: linearError(message, 'graphql error', 'GRAPHQL_VALIDATION_FAILED', 400) };
    }
    const contextValue: LinearRequestContext = { query: body.query, variables };
    const result = await execute({
      schema: mock.schema,
      document: lenient.document,
      variableValues: lenient.variables,
      operationName: body.operationName ?? undefined,
      contextValue,
    });
    return { status: 200, json: result };
  }

  const http = await startHttpStandIn();
  http.on(`POST ${graphqlPath}`, answerGraphQL);
  http.on(`POST ${tokenPath}`, (call) => {
    tokenRequests.push(call);
    return tokens.answer(call);
  });

  return {
    url: `${http.url}${graphqlPath}`,
    tokenUrl: `${http.url}${tokenPath}`,
    mutations,
    requests,
    tokenRequests,
    unmatched: http.unmatched,
    dropped,
    store: mock.store,
    mutationsNamed: (name) => mutations.filter((m) => m.name === name),
    pin: (typeName, id, fields) => mock.pin(typeName, id, fields),
    on: (mutationName, resolver) => mock.override(mutationName, resolver),
    holdNext: (rootField, until) => void holds.push({ rootField, until }),
    failNext(status, times = 1, body) {
      for (let i = 0; i < times; i++) failures.push({ status, body });
    },
    onToken: (handler) => tokens.replace(handler),
    close: () => http.close(),
  };
}
