import { describe, expect, it } from 'vitest';
import { FileConfig } from '../../src/config/file-schema.js';
import { buildConfig, type Config, parseEnv } from '../../src/config/load-config.js';
import { repoUrlsIn, toRepositoryRules } from '../../src/config/repository-rules.js';
import { toContext, toInstruction } from '../../src/integrations/linear/issue-request.js';
import type { LinearIssue } from '../../src/integrations/linear/linear-api.js';
import { routeIssueRepository } from '../../src/integrations/linear/route-issue-repository.js';

const rulesOf = (c: Config) => ({ repositories: toRepositoryRules(c), linear: c.file.linear });
const config = buildConfig(
  parseEnv({ GITHUB_SERVER_URL: 'https://git.acme.example' }),
  FileConfig.parse({
    repositories: [{ name: 'acme/web' }, { name: 'acme/api' }, { name: 'acme/ops' }],
    linear: { teams: { ENG: 'acme/web', OLD: 'acme/gone' }, projects: { Payments: 'acme/api' } },
  }),
);
const withDefault = buildConfig(
  config.env,
  FileConfig.parse({ repositories: [{ name: 'acme/web' }], defaults: { repository: 'acme/web' } }),
);

function anIssue(over: Partial<LinearIssue> = {}): LinearIssue {
  return {
    id: 'issue-1',
    identifier: 'ENG-123',
    title: 'Login fails',
    description: 'It breaks.',
    url: 'https://linear.app/acme/issue/ENG-123',
    team: { key: 'ENG' },
    project: null,
    labels: { nodes: [] },
    comments: { nodes: [] },
    ...over,
  };
}

describe('which repository a Linear issue means', () => {
  it('takes a repo: label first, then a GitHub URL in the description, then the team, the project, the default', () => {
    const label = routeIssueRepository(
      { labels: ['bug', 'repo:acme/api'], description: 'https://github.com/acme/ops', teamKey: 'ENG' },
      rulesOf(config),
    );
    const url = routeIssueRepository(
      { labels: ['bug'], description: 'see https://git.acme.example/acme/ops.git and more', teamKey: 'ENG' },
      rulesOf(config),
    );
    const team = routeIssueRepository(
      { labels: [], description: 'no link', teamKey: 'ENG' },
      rulesOf(config),
    );
    const project = routeIssueRepository(
      { labels: [], teamKey: 'DES', project: { id: 'p-1', name: 'Payments' } },
      rulesOf(config),
    );
    const fallback = routeIssueRepository({ labels: [], teamKey: 'DES' }, rulesOf(withDefault));

    expect(label).toEqual({ kind: 'repo', repo: 'acme/api', via: 'label' });
    expect(url).toEqual({ kind: 'repo', repo: 'acme/ops', via: 'description' });
    expect(team).toEqual({ kind: 'repo', repo: 'acme/web', via: 'team' });
    expect(project).toEqual({ kind: 'repo', repo: 'acme/api', via: 'project' });
    expect(fallback).toEqual({ kind: 'repo', repo: 'acme/web', via: 'default' });
  });

  it('asks when nothing names a repository, or a label or mapping names one off the allowlist', () => {
    const unknown = routeIssueRepository(
      { labels: [], description: 'nothing', teamKey: 'DES' },
      rulesOf(config),
    );
    const label = routeIssueRepository({ labels: ['repo:evil/app'], teamKey: 'ENG' }, rulesOf(config));
    const mapping = routeIssueRepository({ labels: [], teamKey: 'OLD' }, rulesOf(config));
    const otherUrl = routeIssueRepository(
      { labels: [], description: 'upstream bug: https://github.com/nodejs/node/issues/1', teamKey: 'DES' },
      rulesOf(config),
    );

    expect(unknown).toEqual({ kind: 'ask', reason: 'unknown' });
    expect(label).toEqual({ kind: 'ask', reason: 'not_allowed', named: 'evil/app' });
    expect(mapping).toEqual({ kind: 'ask', reason: 'not_allowed', named: 'acme/gone' });
    expect(otherUrl).toEqual({ kind: 'ask', reason: 'unknown' });
  });

  it('finds repository URLs only on GitHub hosts', () => {
    const text =
      'a https://github.com/acme/web/pull/3, b https://evil.example/acme/api, c https://github.com/acme/api.';

    expect(repoUrlsIn(text, ['github.com'])).toEqual(['acme/web', 'acme/api']);
  });
});

describe('what the agent is told about a Linear issue', () => {
  it('puts the identifier, title and description in the instruction, a mention first', () => {
    const plain = toInstruction(anIssue());
    const mentioned = toInstruction(anIssue({ description: null }), '@patchbay please fix');

    expect(plain).toBe('Linear issue ENG-123: Login fails\n\nIt breaks.');
    expect(mentioned).toBe(
      'Request (comment on ENG-123): @patchbay please fix\n\nLinear issue ENG-123: Login fails\n\n(no description)',
    );
  });

  it('gives labels and comments, oldest first, as context, keeping the newest when too long', () => {
    const issue = anIssue({
      labels: { nodes: [{ name: 'bug' }, { name: 'frontend' }] },
      comments: {
        nodes: [
          { body: 'second', createdAt: '2025-01-02T00:00:00Z', user: { name: 'Bo' } },
          { body: 'first', createdAt: '2025-01-01T00:00:00Z', user: null },
        ],
      },
    });
    const long = anIssue({
      comments: {
        nodes: Array.from({ length: 30 }, (_, i) => ({
          body: `${i}`.padEnd(3_000, '.'),
          createdAt: new Date(Date.UTC(2025, 0, 1, i)).toISOString(),
        })),
      },
    });

    const context = toContext(issue);
    const cut = toContext(long) ?? '';

    expect(context).toBe('Labels: bug, frontend\n\nComments on ENG-123:\n\nsomeone: first\n\nBo: second');
    expect(toContext(anIssue())).toBeUndefined();
    expect(cut.length).toBeLessThanOrEqual(50_000);
    expect(cut).toContain('someone: 29.');
    expect(cut).not.toContain('someone: 0.');
  });
});
