import { LinearClient, RatelimitedLinearError } from '@linear/sdk';
import { z } from 'zod';
import { type Clock, sleep, systemClock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { toInertMarkdown } from './inert-markdown.js';

/** What an agent session shows (https://linear.app/developers/agent-interaction#activity-content-payload). */
export type ActivityContent =
  | { type: 'thought'; body: string }
  | { type: 'action'; action: string; parameter: string; result?: string }
  | { type: 'elicitation'; body: string }
  | { type: 'response'; body: string }
  | { type: 'error'; body: string };

/** One entry of a session's plan (`agentSessionUpdate(input: { plan })`, a list of these). */
export interface PlanStep {
  content: string;
  status: 'pending' | 'inProgress' | 'completed' | 'canceled';
}

/**
 * The seam for the OAuth install: the agent's `LinearClient` for a workspace (the webhook's
 * `organizationId`). Today one client built from `LINEAR_ACCESS_TOKEN` answers every workspace.
 */
export type LinearClientFor = (organizationId: string | undefined) => Promise<LinearClient>;

/** The issue as the agent and the router need it. Every text field is untrusted. */
export const LinearIssue = z.object({
  id: z.string().min(1),
  identifier: z.string().min(1).max(40),
  title: z.string().max(1_000),
  description: z.string().nullish(),
  url: z.string().nullish(),
  team: z.object({ key: z.string() }).nullish(),
  project: z.object({ id: z.string(), name: z.string() }).nullish(),
  labels: z.object({ nodes: z.array(z.object({ name: z.string() })) }),
  comments: z.object({
    nodes: z.array(
      z.object({
        body: z.string(),
        createdAt: z.string(),
        user: z.object({ name: z.string() }).nullish(),
      }),
    ),
  }),
});
export type LinearIssue = z.infer<typeof LinearIssue>;

const WorkflowState = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  position: z.number().optional(),
});
export type WorkflowState = z.infer<typeof WorkflowState>;

/** An issue's workflow state and the states its team offers. */
export const IssueStates = z.object({
  id: z.string(),
  state: WorkflowState.nullish(),
  team: z.object({ states: z.object({ nodes: z.array(WorkflowState) }) }).nullish(),
});
export type IssueStates = z.infer<typeof IssueStates>;

export const LinearUser = z.object({
  id: z.string().min(1),
  name: z.string(),
  displayName: z.string(),
});
export type LinearUser = z.infer<typeof LinearUser>;

// One request for everything, instead of the SDK models' lazy fetch per relation.
const ISSUE_QUERY = `query PatchbayIssue($id: String!) {
  issue(id: $id) {
    id identifier title description url
    team { key }
    project { id name }
    labels(first: 50) { nodes { name } }
    comments(first: 50) { nodes { body createdAt user { name } } }
  }
}`;

const STATES_QUERY = `query PatchbayIssueStates($id: String!) {
  issue(id: $id) {
    id
    state { id name type position }
    team { states(first: 100) { nodes { id name type position } } }
  }
}`;

const VIEWER_QUERY = 'query PatchbayViewer { viewer { id name displayName } }';

/** A fixed `LinearClient` (an agent token or a user's API key); main.ts builds it. */
export function createLinearClient(opts: {
  accessToken?: string;
  apiKey?: string;
  apiUrl: string;
}): LinearClient {
  return opts.accessToken
    ? new LinearClient({ accessToken: opts.accessToken, apiUrl: opts.apiUrl })
    : new LinearClient({ apiKey: opts.apiKey, apiUrl: opts.apiUrl });
}

/** Linear's answer to a create whose client-chosen `id` is taken: the first try got through. */
function isAlreadyThere(err: unknown): boolean {
  return err instanceof Error && /already exists|duplicate|unique constraint/i.test(err.message);
}

/** A create with our own id: a refusal because the id is taken means it was made before. */
async function once<T>(id: string | undefined, create: () => Promise<T>): Promise<T | undefined> {
  try {
    return await create();
  } catch (err) {
    if (id && isAlreadyThere(err)) return undefined;
    throw err;
  }
}

/** Linear's answer when the issue, comment or session no longer exists (deleted mid-run). */
export function isGone(err: unknown): boolean {
  return err instanceof Error && /entity not found|could not find/i.test(err.message);
}

const RATE_LIMIT_TRIES = 3;

/**
 * The Linear calls Patchbay makes, each through the real SDK, with the client obtained per call (so
 * that a refreshed OAuth token is picked up). A rate limit (`RATELIMITED`, HTTP 400/429) is waited
 * out and retried a few times, each wait at most `maxWaitMs` (short while Linear waits for a webhook
 * answer, longer for progress).
 */
export function createLinearApi(deps: { client: () => Promise<LinearClient>; log: Logger; clock?: Clock }) {
  const clock = deps.clock ?? systemClock;
  async function patiently<T>(
    what: string,
    call: (client: LinearClient) => Promise<T>,
    maxWaitMs: number,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call(await deps.client());
      } catch (err) {
        if (!(err instanceof RatelimitedLinearError) || attempt >= RATE_LIMIT_TRIES) throw err;
        const untilReset = err.requestsResetAt ? err.requestsResetAt - clock.now() : undefined;
        const wait = Math.min(Math.max(untilReset ?? (err.retryAfter ?? 1) * 1_000, 100), maxWaitMs);
        deps.log.warn({ what, waitMs: wait, attempt }, 'linear rate limit; waiting');
        await sleep(clock, wait);
      }
    }
  }

  async function fetchIssue(issueId: string, maxWaitMs = 1_500): Promise<LinearIssue | null> {
    const res = await patiently(
      'issue',
      (c) => c.client.rawRequest<{ issue: unknown }, { id: string }>(ISSUE_QUERY, { id: issueId }),
      maxWaitMs,
    );
    const parsed = LinearIssue.safeParse(res.data?.issue);
    if (!parsed.success) {
      deps.log.warn({ issueId, issues: parsed.error.issues.length }, 'linear issue not understood');
      return null;
    }
    return parsed.data;
  }

  async function fetchIssueStates(issueId: string, maxWaitMs = 5_000): Promise<IssueStates | null> {
    const res = await patiently(
      'issue states',
      (c) => c.client.rawRequest<{ issue: unknown }, { id: string }>(STATES_QUERY, { id: issueId }),
      maxWaitMs,
    );
    const parsed = IssueStates.safeParse(res.data?.issue);
    return parsed.success ? parsed.data : null;
  }

  async function fetchViewer(maxWaitMs = 1_500): Promise<LinearUser> {
    const res = await patiently(
      'viewer',
      (c) => c.client.rawRequest<{ viewer: unknown }, Record<string, never>>(VIEWER_QUERY, {}),
      maxWaitMs,
    );
    return LinearUser.parse(res.data?.viewer);
  }

  /**
   * An activity in a session. With `id` (a UUID Patchbay derives from the task, run and event) a
   * retried post is the same activity: Linear refuses the id the second time, and that counts as done.
   */
  async function postActivity(sessionId: string, content: ActivityContent, id?: string, maxWaitMs = 5_000) {
    const input = { agentSessionId: sessionId, content: inert(content), ...(id ? { id } : {}) };
    await once(id, () =>
      patiently(`activity ${content.type}`, (c) => c.createAgentActivity(input), maxWaitMs),
    );
  }

  async function updateSession(
    sessionId: string,
    input: { plan?: PlanStep[]; externalUrls?: Array<{ label: string; url: string }> },
    maxWaitMs = 5_000,
  ) {
    await patiently('session update', (c) => c.updateAgentSession(sessionId, input), maxWaitMs);
  }

  /**
   * A comment on the issue (a reply when `parentId` is set); answers its id. With `input.id`, as for
   * activities, a repeat is the same comment.
   */
  async function createComment(
    input: { issueId: string; body: string; parentId?: string; id?: string },
    maxWaitMs = 5_000,
  ): Promise<string> {
    const create = () =>
      patiently(
        'comment',
        (c) => c.createComment({ ...input, body: toInertMarkdown(input.body) }),
        maxWaitMs,
      );
    const payload = await once(input.id, create);
    const id = input.id ?? payload?.commentId;
    if (!id) throw new Error('Linear created no comment');
    return id;
  }

  async function updateComment(commentId: string, body: string, maxWaitMs = 5_000) {
    await patiently(
      'comment update',
      (c) => c.updateComment(commentId, { body: toInertMarkdown(body) }),
      maxWaitMs,
    );
  }

  async function moveIssue(issueId: string, stateId: string, maxWaitMs = 5_000) {
    await patiently('issue state', (c) => c.updateIssue(issueId, { stateId }), maxWaitMs);
  }

  /** Links a URL to the issue; Linear keeps one attachment per URL and issue. */
  async function attachUrl(issueId: string, url: string, title: string, maxWaitMs = 5_000) {
    await patiently('attachment', (c) => c.attachmentLinkURL(issueId, url, { title }), maxWaitMs);
  }

  return {
    fetchIssue,
    fetchIssueStates,
    fetchViewer,
    postActivity,
    updateSession,
    createComment,
    updateComment,
    moveIssue,
    attachUrl,
  };
}
export type LinearApi = ReturnType<typeof createLinearApi>;

/** An activity's every text field made inert (see inert-markdown.ts). */
function inert(content: ActivityContent): ActivityContent {
  const out: Record<string, string | undefined> = { ...content };
  for (const [key, value] of Object.entries(out)) {
    if (key !== 'type' && typeof value === 'string') out[key] = toInertMarkdown(value);
  }
  return out as ActivityContent;
}
