import { LinearClient, RatelimitedLinearError } from '@linear/sdk';
import { z } from 'zod';
import type { Logger } from '../../lib/logger.js';
import type { LinearSettings } from './linear-settings.js';

/** What an agent session shows (https://linear.app/developers/agent-interaction#activity-content-payload). */
export type ActivityContent =
  | { type: 'thought'; body: string }
  | { type: 'action'; action: string; parameter: string; result?: string }
  | { type: 'elicitation'; body: string }
  | { type: 'response'; body: string }
  | { type: 'error'; body: string };

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

/** The `LinearClient` for the agent's token (main.ts builds it; only this folder imports the SDK). */
export function createLinearClient(settings: LinearSettings): LinearClient {
  return new LinearClient({ accessToken: settings.accessToken, apiUrl: settings.apiUrl });
}

/**
 * The few Linear calls Patchbay makes, each through the real SDK. A rate limit (`RATELIMITED`) is
 * waited out once, up to `maxWaitMs` (short while Linear waits for a webhook answer).
 */
export function createLinearApi(deps: { client: LinearClient; log: Logger }) {
  async function patiently<T>(what: string, call: () => Promise<T>, maxWaitMs: number): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof RatelimitedLinearError)) throw err;
      const untilReset = err.requestsResetAt ? err.requestsResetAt - Date.now() : undefined;
      const wait = Math.min(Math.max(untilReset ?? (err.retryAfter ?? 1) * 1_000, 100), maxWaitMs);
      deps.log.warn({ what, waitMs: wait }, 'linear rate limit; waiting once');
      await new Promise((r) => setTimeout(r, wait));
      return call();
    }
  }

  async function fetchIssue(issueId: string, maxWaitMs = 1_500): Promise<LinearIssue | null> {
    const res = await patiently(
      'issue',
      () => deps.client.client.rawRequest<{ issue: unknown }, { id: string }>(ISSUE_QUERY, { id: issueId }),
      maxWaitMs,
    );
    const parsed = LinearIssue.safeParse(res.data?.issue);
    if (!parsed.success) {
      deps.log.warn({ issueId, issues: parsed.error.issues.length }, 'linear issue not understood');
      return null;
    }
    return parsed.data;
  }

  async function postActivity(sessionId: string, content: ActivityContent, maxWaitMs = 5_000) {
    await patiently(
      `activity ${content.type}`,
      () => deps.client.createAgentActivity({ agentSessionId: sessionId, content }),
      maxWaitMs,
    );
  }

  return { fetchIssue, postActivity };
}
export type LinearApi = ReturnType<typeof createLinearApi>;
