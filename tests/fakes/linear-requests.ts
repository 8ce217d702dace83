import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { LinearStandIn } from './linear-stand-in.js';

export const LINEAR_SECRET = 'e2e-linear-webhook-secret-0123456789';
export const LINEAR_TOKEN = 'lin_oauth_e2e_agent_token';
export const LINEAR_API_KEY = 'lin_api_e2e_bot_user_key';
export const LINEAR_OAUTH_APP = { id: 'lin_client_e2e', secret: 'lin_client_secret_e2e_0123456789' };
export const BOT = { id: 'bot-user', name: 'Patchbay Bot', displayName: 'patchbay' };

export type Body = Record<string, unknown>;

/** A trimmed real payload from `tests/fixtures/linear/`, fresh each call. */
export function linearFixture(name: string): Body {
  return JSON.parse(
    readFileSync(new URL(`../fixtures/linear/${name}.json`, import.meta.url), 'utf8'),
  ) as Body;
}

export interface SendOptions {
  delivery?: string;
  signature?: string;
  timestamp?: number;
  raw?: string;
}

/** A webhook as Linear sends it: HMAC-SHA256 of the body in `Linear-Signature`, hex. */
export function sendLinearWebhook(base: string, body: Body, o: SendOptions = {}) {
  const raw = o.raw ?? JSON.stringify({ ...body, webhookTimestamp: o.timestamp ?? Date.now() });
  const signature = o.signature ?? createHmac('sha256', LINEAR_SECRET).update(raw).digest('hex');
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'linear-delivery': o.delivery ?? randomUUID(),
    'linear-event': String(body.type ?? ''),
    'user-agent': 'Linear-Webhook',
  };
  if (signature) headers['linear-signature'] = signature;
  return fetch(`${base}/linear/webhook`, { method: 'POST', headers, body: raw });
}

/** `AgentSessionEvent` `created` for a session, on issue-1 unless another issue is given. */
export function sessionCreated(
  sessionId = 'session-1',
  issue: { id: string; identifier: string; teamKey: string } | null = null,
): Body {
  const body = linearFixture('agent_session_created');
  const session = body.agentSession as Body;
  session.id = sessionId;
  if (issue) {
    session.issueId = issue.id;
    session.issue = {
      ...(session.issue as Body),
      id: issue.id,
      identifier: issue.identifier,
      team: { id: 'x', key: issue.teamKey, name: issue.teamKey },
    };
  }
  return body;
}

/** `AgentSessionEvent` `prompted` in session-1: a message, or the stop signal. */
export function sessionPrompted(text: string, opts: { signal?: string } = {}): Body {
  const body = linearFixture('agent_session_prompted');
  const activity = body.agentActivity as Body;
  activity.id = randomUUID();
  activity.content = { type: 'prompt', body: text };
  activity.signal = opts.signal ?? null;
  return body;
}

/** `Issue` `update`: issue-1's assignee changed from `from` to `to`. */
export function issueAssigned(to: string | null = BOT.id, from: string | null = null): Body {
  const body = linearFixture('issue_update_assigned');
  (body.data as Body).assigneeId = to;
  (body.updatedFrom as Body).assigneeId = from;
  return body;
}

/** `Comment` `create` on issue-1 with this markdown body, by `userId` (Ada unless said). */
export function commentCreated(markdown: string, userId = 'user-1'): Body {
  const body = linearFixture('comment_create');
  const data = body.data as Body;
  data.id = `comment-${randomUUID()}`;
  data.body = markdown;
  data.userId = userId;
  data.user = { id: userId, name: userId === BOT.id ? BOT.name : 'Ada Lovelace' };
  return body;
}

/**
 * The Linear workspace the tests talk about: teams ENG (with Todo → In Progress → In Review → Done
 * states) and OPS, issue-1 (ENG-123, in Todo), issue-2 (names no repository), issue-3 (labelled
 * with a repository off the allowlist), and the bot user as the API key's viewer.
 */
export function pinLinearWorkspace(stand: LinearStandIn): void {
  const states = [
    { id: 'state-backlog', name: 'Backlog', type: 'backlog', position: 0 },
    { id: 'state-todo', name: 'Todo', type: 'unstarted', position: 1 },
    { id: 'state-progress', name: 'In Progress', type: 'started', position: 2 },
    { id: 'state-review', name: 'In Review', type: 'started', position: 3 },
    { id: 'state-done', name: 'Done', type: 'completed', position: 4 },
    { id: 'state-canceled', name: 'Canceled', type: 'canceled', position: 5 },
  ];
  for (const { id, ...fields } of states) stand.pin('WorkflowState', id, fields);
  stand.pin('Team', 'team-1', {
    key: 'ENG',
    name: 'Engineering',
    states: { nodes: states.map((s) => ({ id: s.id })) },
  });
  stand.pin('Team', 'team-2', { key: 'OPS', name: 'Operations', states: { nodes: [] } });
  stand.pin('Query', 'ROOT', { viewer: BOT });
  stand.pin('Issue', 'issue-1', {
    identifier: 'ENG-123',
    title: 'Greeting lacks a comma',
    description: 'greet() says `Hello x` instead of `Hello, x`.',
    url: 'https://linear.app/acme/issue/ENG-123/greeting-lacks-a-comma',
    team: { id: 'team-1' },
    state: { id: 'state-todo' },
    project: null,
    labels: { nodes: [{ id: 'label-1', name: 'bug' }] },
    comments: {
      nodes: [{ id: 'c-1', body: 'Seen on the login page too.', createdAt: '2025-07-30T09:00:00Z' }],
    },
  });
  stand.pin('Issue', 'issue-2', {
    identifier: 'OPS-7',
    title: 'Rotate the certificates',
    description: 'Nothing here names a repository.',
    url: 'https://linear.app/acme/issue/OPS-7/rotate-the-certificates',
    team: { id: 'team-2' },
    project: null,
    labels: { nodes: [] },
    comments: { nodes: [] },
  });
  stand.pin('Issue', 'issue-3', {
    identifier: 'ENG-9',
    title: 'Fix the other app',
    description: 'See https://github.com/evil/app',
    url: 'https://linear.app/acme/issue/ENG-9/fix-the-other-app',
    team: { id: 'team-1' },
    project: null,
    labels: { nodes: [{ id: 'label-2', name: 'repo:evil/app' }] },
    comments: { nodes: [] },
  });
}
