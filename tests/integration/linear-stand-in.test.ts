import { LinearClient, LinearError, LinearErrorType, RatelimitedLinearError } from '@linear/sdk';
import { describe, expect, it } from 'vitest';
import { type LinearStandIn, startLinearStandIn } from '../fakes/linear-stand-in.js';
import { standInPerTest } from '../fakes/stand-in-per-test.js';

let linear: LinearStandIn | undefined;
const track = standInPerTest<LinearStandIn>();

async function setUp(opts: Parameters<typeof startLinearStandIn>[0] = {}) {
  linear = track(await startLinearStandIn(opts));
  const client = new LinearClient({ apiKey: 'lin_api_standIn', apiUrl: linear.url });
  return { linear, client };
}

function pinIssue(stand: LinearStandIn) {
  stand.pin('Team', 'team-1', { key: 'ENG', name: 'Engineering' });
  stand.pin('Issue', 'issue-1', {
    identifier: 'ENG-123',
    title: 'Login fails on Safari',
    description: 'Steps: open https://github.com/acme/web and log in.',
    team: { id: 'team-1' },
    labels: { nodes: [{ id: 'label-1', name: 'repo:acme/web' }] },
    comments: {
      nodes: [
        { id: 'comment-1', body: 'Seen on 17.2 too.' },
        { id: 'comment-2', body: '@patchbay please fix' },
      ],
    },
  });
}

async function postToken(url: string, form: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', body: new URLSearchParams(form) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('Linear stand-in with the real LinearClient', () => {
  it('answers the viewer and the organization with values the SDK models parse', async () => {
    const { linear, client } = await setUp();
    linear.pin('Organization', 'org-1', { name: 'Acme', urlKey: 'acme' });

    const viewer = await client.viewer;
    const organization = await client.organization;

    expect(viewer.id).toEqual(expect.any(String));
    expect(viewer.createdAt).toBeInstanceOf(Date);
    expect(Number.isNaN(viewer.createdAt.getTime())).toBe(false);
    expect(organization).toMatchObject({ id: 'org-1', name: 'Acme', urlKey: 'acme' });
  });

  it('returns a pinned issue by identifier and by id, with its team, labels and comments', async () => {
    const { linear, client } = await setUp();
    pinIssue(linear);

    const byIdentifier = await client.issue('ENG-123');
    const byId = await client.issue('issue-1');
    const team = await byIdentifier.team;
    const labels = await byIdentifier.labels();
    const comments = await byIdentifier.comments({ first: 50 });

    expect(byIdentifier).toMatchObject({
      id: 'issue-1',
      identifier: 'ENG-123',
      title: 'Login fails on Safari',
      description: 'Steps: open https://github.com/acme/web and log in.',
    });
    expect(byId.identifier).toBe('ENG-123');
    expect(team?.key).toBe('ENG');
    expect(labels.nodes.map((l) => l.name)).toEqual(['repo:acme/web']);
    expect(comments.nodes.map((c) => c.body)).toEqual(['Seen on 17.2 too.', '@patchbay please fix']);
    expect(comments.pageInfo.hasNextPage).toBe(false);
  });

  it('returns a pinned agent session with its issue', async () => {
    const { linear, client } = await setUp();
    pinIssue(linear);
    linear.pin('AgentSession', 'session-1', { issue: { id: 'issue-1' }, status: 'active' });

    const session = await client.agentSession('session-1');
    const issue = await session.issue;

    expect(session.id).toBe('session-1');
    expect(issue?.identifier).toBe('ENG-123');
  });

  it('records mutations sent through the SDK with their variables and answers success', async () => {
    const { linear, client } = await setUp();

    const comment = await client.createComment({ issueId: 'issue-1', body: 'Working on it' });
    const update = await client.updateIssue('issue-1', { stateId: 'state-started' });
    const activity = await client.createAgentActivity({
      agentSessionId: 'session-1',
      content: { type: 'thought', body: 'Cloning acme/web' },
    });
    await client.updateAgentSession('session-1', { externalUrls: [{ label: 'PR', url: 'https://x/pr/1' }] });

    expect([comment.success, update.success, activity.success]).toEqual([true, true, true]);
    expect(linear.mutations.map((m) => m.name)).toEqual([
      'commentCreate',
      'issueUpdate',
      'agentActivityCreate',
      'agentSessionUpdate',
    ]);
    expect(linear.mutationsNamed('commentCreate')[0]?.variables).toEqual({
      input: { issueId: 'issue-1', body: 'Working on it' },
    });
    expect(linear.mutationsNamed('issueUpdate')[0]?.variables).toEqual({
      id: 'issue-1',
      input: { stateId: 'state-started' },
    });
    expect(linear.mutationsNamed('agentActivityCreate')[0]?.variables).toEqual({
      input: { agentSessionId: 'session-1', content: { type: 'thought', body: 'Cloning acme/web' } },
    });
  });

  it('answers a mutation with what `on` returns, merged over the generated payload', async () => {
    const { linear, client } = await setUp();
    linear.on('commentCreate', (variables) => {
      const input = variables.input as { body: string };
      return { comment: { id: 'comment-9', body: input.body } };
    });
    linear.on('issueUpdate', () => ({ success: false }));

    const created = await client.createComment({ issueId: 'issue-1', body: 'Done: PR #7' });
    const comment = await created.comment;
    const update = await client.updateIssue('issue-1', { stateId: 'x' });

    expect(created.success).toBe(true);
    expect(created.commentId).toBe('comment-9');
    expect(comment?.body).toBe('Done: PR #7');
    expect(update.success).toBe(false);
  });

  it('leaves out a field the schema file does not know instead of failing the query', async () => {
    const { client } = await setUp();

    const res = await client.client.rawRequest<{ viewer: Record<string, unknown> }, Record<string, never>>(
      'query { viewer { id fieldNewerThanTheSchema name } }',
    );

    expect(Object.keys(res.data?.viewer ?? {})).toEqual(['id', 'name']);
  });

  it('drops input fields and variable types the schema file lacks, and reports them', async () => {
    const { linear, client } = await setUp();

    const res = await client.client.rawRequest<
      { issueUpdate: { success: boolean } },
      Record<string, unknown>
    >(
      'mutation ($input: IssueUpdateInput!, $extra: TypeNewerThanTheSchema) { issueUpdate(id: "i", input: $input) { success } }',
      { input: { title: 't', inputFieldNewerThanTheSchema: 1 }, extra: {} },
    );
    const unknownRoot = await client.client
      .rawRequest('mutation { mutationNewerThanTheSchema { success } }')
      .catch((err: unknown) => err);

    expect(res.data?.issueUpdate.success).toBe(true);
    expect(linear.dropped).toEqual(['$input.inputFieldNewerThanTheSchema', '$extra']);
    expect(linear.mutations[0]?.variables).toMatchObject({ input: { inputFieldNewerThanTheSchema: 1 } });
    expect(unknownRoot).toBeInstanceOf(LinearError);
    expect((unknownRoot as LinearError).message).toMatch(/Mutation\.mutationNewerThanTheSchema/);
  });

  it('refuses a request without an Authorization header', async () => {
    const { linear } = await setUp();
    const client = new LinearClient({ apiKey: 'x', apiUrl: linear.url, headers: { Authorization: '' } });

    const error = await client.viewer.catch((err: unknown) => err);

    expect(error).toBeInstanceOf(LinearError);
    expect((error as LinearError).type).toBe(LinearErrorType.AuthenticationError);
    expect((error as LinearError).status).toBe(401);
  });

  it('sends OAuth access tokens as Bearer and API keys as they are', async () => {
    const { linear } = await setUp();
    const oauth = new LinearClient({ accessToken: 'lin_oauth_standin_1', apiUrl: linear.url });
    const key = new LinearClient({ apiKey: 'lin_api_key', apiUrl: linear.url });

    await oauth.viewer;
    await key.viewer;

    expect(linear.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer lin_oauth_standin_1',
      'lin_api_key',
    ]);
  });

  it('answers failNext(400) as a Linear rate limit the SDK surfaces as Ratelimited, then recovers', async () => {
    const { linear, client } = await setUp();
    linear.failNext(400, 2);
    const before = Date.now();

    const first = await client.viewer.catch((err: unknown) => err);
    const second = await client.viewer.catch((err: unknown) => err);
    const third = await client.viewer;

    for (const error of [first, second]) {
      expect(error).toBeInstanceOf(RatelimitedLinearError);
      expect((error as RatelimitedLinearError).type).toBe(LinearErrorType.Ratelimited);
      expect((error as RatelimitedLinearError).requestsRemaining).toBe(0);
      // The stand-in's default reset is a second after it answered, so after `before` plus that second.
      expect((error as RatelimitedLinearError).requestsResetAt).toBeGreaterThanOrEqual(before + 1000);
    }
    expect(third.id).toEqual(expect.any(String));
    expect(linear.requests).toHaveLength(3);
  });

  it('answers failNext(429) and a 5xx with the types the SDK derives from them', async () => {
    const { linear, client } = await setUp();
    linear.failNext(429);
    linear.failNext(503);

    const limited = await client.viewer.catch((err: unknown) => err);
    const down = await client.viewer.catch((err: unknown) => err);

    expect((limited as LinearError).type).toBe(LinearErrorType.Ratelimited);
    expect((down as LinearError).type).toBe(LinearErrorType.NetworkError);
  });

  it('serves the OAuth token endpoint: code exchange, rotating refresh, recorded calls', async () => {
    const { linear } = await setUp({ client: { id: 'client-1', secret: 'secret-1' } });
    const app = { client_id: 'client-1', client_secret: 'secret-1' };

    const exchanged = await postToken(linear.tokenUrl, {
      ...app,
      grant_type: 'authorization_code',
      code: 'code-1',
      redirect_uri: 'http://127.0.0.1/linear/oauth/callback',
    });
    const refreshToken = String(exchanged.json.refresh_token);
    const refreshed = await postToken(linear.tokenUrl, {
      ...app,
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
    const reused = await postToken(linear.tokenUrl, {
      ...app,
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
    const wrongClient = await postToken(linear.tokenUrl, { grant_type: 'authorization_code', code: 'c' });

    expect(exchanged).toMatchObject({
      status: 200,
      json: { access_token: expect.any(String), token_type: 'Bearer', expires_in: expect.any(Number) },
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.access_token).not.toBe(exchanged.json.access_token);
    expect(refreshed.json.refresh_token).not.toBe(refreshToken);
    expect(reused).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    expect(wrongClient).toMatchObject({ status: 401, json: { error: 'invalid_client' } });
    expect(linear.tokenRequests.map((c) => new URLSearchParams(c.raw).get('grant_type'))).toEqual([
      'authorization_code',
      'refresh_token',
      'refresh_token',
      'authorization_code',
    ]);
  });

  it('answers the token endpoint with what onToken returns', async () => {
    const { linear } = await setUp({ tokenPath: '/custom/token' });
    linear.onToken(() => ({ access_token: 'fixed', refresh_token: 'r', expires_in: 5 }));

    const res = await postToken(linear.tokenUrl, { grant_type: 'refresh_token', refresh_token: 'r' });

    expect(linear.tokenUrl.endsWith('/custom/token')).toBe(true);
    expect(res).toMatchObject({
      status: 200,
      json: { access_token: 'fixed', expires_in: 5, token_type: 'Bearer' },
    });
  });
});
