import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/config/load-config.js';
import { afterLeadingMentions, findMention } from '../../src/integrations/linear/find-mention.js';
import { nextState } from '../../src/integrations/linear/issue-effects.js';
import type { IssueStates } from '../../src/integrations/linear/linear-api.js';
import { readLinearSettings } from '../../src/integrations/linear/linear-settings.js';
import { toPlan } from '../../src/integrations/linear/session-plan.js';

const BOT = { name: 'Patchbay Bot', displayName: 'patchbay' };

describe('findMention', () => {
  it.each([
    ['https://linear.app/acme/profiles/patchbay please add a test', 'please add a test'],
    ['[@patchbay](https://linear.app/acme/profiles/patchbay), fix the login', 'fix the login'],
    ['https://linear.app/acme/profiles/Patchbay%20Bot go on', 'go on'],
    ['@Patchbay Bot add a changelog', 'add a changelog'],
    ['@patchbay: what about Safari?', 'what about Safari?'],
    ['https://linear.app/acme/profiles/patchbay', ''],
  ])('finds the mention in %j', (body, rest) => {
    expect(findMention(body, BOT)).toEqual({ rest });
  });

  it.each([
    'write to ops@patchbay.dev',
    'ask @patchbayer',
    'https://linear.app/acme/profiles/patchbayer',
    'no mention at all',
  ])('finds none in %j', (body) => {
    expect(findMention(body, BOT)).toBeNull();
  });
});

describe('afterLeadingMentions', () => {
  it.each([
    ['[@patchbay-agent](https://linear.app/acme/profiles/patchbay-agent) add a changelog', 'add a changelog'],
    ['https://linear.app/acme/profiles/agent, please look', 'please look'],
    ['@patchbay-agent', ''],
    ['fix it, @patchbay-agent', 'fix it, @patchbay-agent'],
  ])('reads %j as %j', (body, rest) => {
    expect(afterLeadingMentions(body)).toBe(rest);
  });
});

function issueIn(stateId: string): IssueStates {
  const nodes = [
    { id: 'todo', name: 'Todo', type: 'unstarted', position: 1 },
    { id: 'review', name: 'In Review', type: 'started', position: 3 },
    { id: 'progress', name: 'In Progress', type: 'started', position: 2 },
    { id: 'done', name: 'Done', type: 'completed', position: 4 },
    { id: 'canceled', name: 'Canceled', type: 'canceled', position: 5 },
  ];
  return { id: 'i', state: nodes.find((n) => n.id === stateId), team: { states: { nodes } } };
}

describe('nextState', () => {
  it('moves forward only, to states the team has', () => {
    expect(nextState(issueIn('todo'), 'started')?.id).toBe('progress');
    expect(nextState(issueIn('progress'), 'review')?.id).toBe('review');
    expect(nextState(issueIn('todo'), 'review')?.id).toBe('review');
    expect(nextState(issueIn('review'), 'started')).toBeNull();
    expect(nextState(issueIn('review'), 'review')).toBeNull();
    expect(nextState(issueIn('done'), 'started')).toBeNull();
    expect(nextState(issueIn('canceled'), 'review')).toBeNull();
    expect(nextState({ id: 'i', state: null, team: { states: { nodes: [] } } }, 'started')).toBeNull();
  });
});

describe('toPlan', () => {
  it('marks the stages before, at and after the current one, and the end of a run', () => {
    const statuses = (plan: ReturnType<typeof toPlan>) => plan.map((p) => p.status).join(' ');

    expect(statuses(toPlan('agent', 'running'))).toBe('completed completed inProgress pending pending');
    expect(statuses(toPlan('checks', 'failed'))).toBe('completed completed completed canceled canceled');
    expect(statuses(toPlan('pull_request', 'finished', { pullRequest: true }))).toBe(
      'completed completed completed completed completed',
    );
    expect(statuses(toPlan('pull_request', 'finished'))).toBe(
      'completed completed completed completed canceled',
    );
  });
});

describe('readLinearSettings', () => {
  const env = (vars: Record<string, string>) => parseEnv({ LINEAR_WEBHOOK_SECRET: 's', ...vars });

  it('turns on each mode whose credential is set, both at once too', () => {
    expect(readLinearSettings(env({ LINEAR_API_KEY: 'k' }))).toMatchObject({ assignment: { apiKey: 'k' } });
    expect(readLinearSettings(env({ LINEAR_API_KEY: 'k' }))).not.toHaveProperty('agent');
    expect(readLinearSettings(env({ LINEAR_ACCESS_TOKEN: 't', LINEAR_API_KEY: 'k' }))).toMatchObject({
      agent: { accessToken: 't' },
      assignment: { apiKey: 'k' },
    });
  });

  it('names what is missing, never a value', () => {
    expect(() => readLinearSettings(env({}))).toThrow(
      /LINEAR_CLIENT_ID, LINEAR_ACCESS_TOKEN or LINEAR_API_KEY/,
    );
    expect(() => readLinearSettings(parseEnv({ LINEAR_API_KEY: 'secret-key' }))).toThrow(
      /LINEAR_WEBHOOK_SECRET is missing/,
    );
    expect(readLinearSettings(parseEnv({}))).toEqual({ off: 'Linear off: LINEAR_WEBHOOK_SECRET is not set' });
  });

  it('runs agent mode as the OAuth app when both its id and secret are set, over a fixed token', () => {
    const app = { LINEAR_CLIENT_ID: 'id', LINEAR_CLIENT_SECRET: 'client-secret' };

    const settings = readLinearSettings(env({ ...app, LINEAR_ACCESS_TOKEN: 't' }));

    expect(settings).toMatchObject({ agent: { oauth: { clientId: 'id', clientSecret: 'client-secret' } } });
    expect(settings).not.toHaveProperty('agent.accessToken');
    expect(() => readLinearSettings(env({ LINEAR_CLIENT_ID: 'id' }))).toThrow(
      /needs LINEAR_CLIENT_SECRET too/,
    );
    expect(() => readLinearSettings(env({ LINEAR_CLIENT_SECRET: 'client-secret' }))).toThrow(
      /needs LINEAR_CLIENT_ID too/,
    );
  });
});
