import { describe, expect, it } from 'vitest';
import { FileConfig } from '../../src/config/file-schema.js';
import { buildConfig, type Config, parseEnv } from '../../src/config/load-config.js';
import { toRepositoryRules } from '../../src/config/repository-rules.js';
import {
  escapeForSlack,
  findNamedRepo,
  parseCommand,
  stripBotMention,
  toPlainText,
} from '../../src/integrations/slack/parse-message.js';
import { routeRepository } from '../../src/integrations/slack/route-repository.js';
import { formatDuration } from '../../src/integrations/slack/slack-text.js';

const rulesOf = (c: Config) => ({ repositories: toRepositoryRules(c), slack: c.file.slack });
const config = buildConfig(
  parseEnv({ GITHUB_SERVER_URL: 'https://git.acme.example' }),
  FileConfig.parse({
    repositories: [{ name: 'acme/web' }, { name: 'acme/api' }, { name: 'vercel/next.js' }],
    slack: { channels: { C0API: 'acme/api' } },
    defaults: { repository: 'acme/web' },
  }),
);
const allowed = (n: string) => config.repositories.has(n.toLowerCase());
const hosts = ['github.com', 'git.acme.example'];

describe('reading Slack messages', () => {
  it('strips the bot mention and recognises commands', () => {
    expect(stripBotMention('<@UBOT> stop', 'UBOT')).toBe('stop');
    expect(stripBotMention('hey <@UBOT|patchbay>   status', 'UBOT')).toMatch(/^hey\s+status$/);
    expect(['stop', 'Cancel!', 'status', '', 'help', 'stop the build'].map(parseCommand)).toEqual([
      'stop',
      'stop',
      'status',
      'help',
      'help',
      null,
    ]);
  });

  it('turns Slack markup into plain text and escapes text going back', () => {
    expect(
      toPlainText('see <https://github.com/acme/web|acme/web> &amp; <@U1> in <#C1|eng> &lt;b&gt; <!here>'),
    ).toBe('see https://github.com/acme/web & @U1 in #eng <b> @here');
    expect(escapeForSlack('<!channel> & <@U1>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt;');
  });

  it.each([
    ['fix the login test in acme/web', { repo: 'acme/web', explicit: false }],
    ['[repo=acme/api, branch=dev] fix it', { repo: 'acme/api', explicit: true }],
    ['repository: Acme/Web please', { repo: 'Acme/Web', explicit: true }],
    ['see https://github.com/acme/api/pull/3', { repo: 'acme/api', explicit: true }],
    ['see https://git.acme.example/acme/ghost.git', { repo: 'acme/ghost', explicit: true }],
    ['bump vercel/next.js.', { repo: 'vercel/next.js', explicit: false }],
    ['fix the flaky test in evil/app', { repo: 'evil/app', explicit: true }],
    ['fix a bug in src/greet.js', undefined],
    ['use and/or carefully', undefined],
    ['see https://gitlab.com/acme/other', undefined],
  ])('finds the repository in %j', (text, expected) => {
    expect(findNamedRepo(text, allowed, hosts)).toEqual(expected);
  });

  it('routes: message, then the thread, then the channel default, then the workspace default; asks otherwise', () => {
    const route = (text: string, channel = 'C0GEN', threadRepo?: string) =>
      routeRepository({ text, channel, threadRepo, rules: rulesOf(config) });

    expect(route('fix acme/api', 'C0GEN', 'acme/web')).toMatchObject({ repo: 'acme/api', via: 'message' });
    expect(route('more please', 'C0API', 'acme/web')).toMatchObject({ repo: 'acme/web', via: 'thread' });
    expect(route('fix it branch=release-1', 'C0API')).toMatchObject({
      repo: 'acme/api',
      via: 'channel',
      base: 'release-1',
    });
    expect(route('fix it')).toMatchObject({ repo: 'acme/web', via: 'workspace' });
    expect(route('fix it in evil/app')).toEqual({ kind: 'ask', reason: 'not_allowed', named: 'evil/app' });
    const bare = buildConfig(config.env, FileConfig.parse({ repositories: [{ name: 'acme/web' }] }));
    expect(routeRepository({ text: 'fix it', channel: 'C0GEN', rules: rulesOf(bare) })).toEqual({
      kind: 'ask',
      reason: 'unknown',
    });
  });

  it('formats durations', () => {
    expect([0, 61_000, 3_725_000].map(formatDuration)).toEqual(['0:00', '1:01', '1:02:05']);
  });
});
