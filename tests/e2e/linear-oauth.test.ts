import { describe, expect, it } from 'vitest';
import { isFinal } from '../fakes/harness.js';
import { sessionCreated as created, LINEAR_OAUTH_APP, linearPerTest } from '../fakes/linear-webhooks.js';
import { FIX_GREETING } from '../fakes/scripts.js';
import { eventually } from '../fakes/slack-requests.js';

const start = linearPerTest();

describe('Linear agent installed as an OAuth app', () => {
  it('skips events of a workspace that has not installed it, then works with the installed token', async () => {
    const { h, linear, send, activities, taskOf } = await start(FIX_GREETING, { modes: { oauth: true } });
    linear.pin('Organization', 'org-1', { name: 'Acme' });

    const before = await send(created('session-early'));
    const consent = await fetch(`${h.base}/linear/oauth/install`, { redirect: 'manual' });
    const location = new URL(consent.headers.get('location') ?? '');
    const callback = await fetch(
      `${h.base}/linear/oauth/callback?${new URLSearchParams({ code: 'c1', state: location.searchParams.get('state') ?? '' })}`,
    );
    const after = await send(created('session-1'));
    const taskId = await taskOf('session-1');
    const task = await h.waitFor(taskId, isFinal);
    await eventually(() => activities().find((a) => a.content.type === 'response'), 20_000, 'response');

    expect(before.status).toBe(200);
    expect(activities().filter((a) => a.agentSessionId === 'session-early')).toEqual([]);
    expect(location.searchParams.get('client_id')).toBe(LINEAR_OAUTH_APP.id);
    expect(location.searchParams.get('redirect_uri')).toBe(`${h.base}/linear/oauth/callback`);
    expect(callback.status).toBe(200);
    expect(after.status).toBe(200);
    expect(task.status).toBe('succeeded');
    const authorizations = new Set(linear.requests.map((r) => r.headers.authorization));
    expect(authorizations).toEqual(new Set(['Bearer lin_oauth_standin_1']));
    expect(h.logLines.join('\n')).not.toContain('lin_oauth_standin_1');
  });
});
