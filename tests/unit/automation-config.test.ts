import { describe, expect, it } from 'vitest';
import { hookSecretOf, hookSecretVariable } from '../../src/config/automation-schema.js';
import { buildConfig, parseEnv, parseFileConfig } from '../../src/config/load-config.js';
import { PatchbayError } from '../../src/domain/errors.js';

const errorOf = (fn: () => unknown): PatchbayError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof PatchbayError) return err;
    throw err;
  }
  throw new Error('expected an error');
};

const yaml = (extra: string) => `repositories:\n  - name: acme/web\n${extra}`;

describe('automations in patchbay.yml', () => {
  it('turns the autofix on with two rounds unless a repository says otherwise', () => {
    const file = parseFileConfig(
      'repositories:\n  - name: acme/web\n  - name: acme/api\n    autofix: false\n  - name: acme/app\n    autofix: { max_rounds: 4 }\n',
    );

    expect(file.repositories.map((r) => r.autofix)).toEqual([{ max_rounds: 2 }, false, { max_rounds: 4 }]);
  });

  it('reads schedules with their defaults, and hooks with theirs', () => {
    const file = parseFileConfig(
      yaml(
        [
          'schedules:',
          '  - { name: deps, cron: "0 6 * * 1", repository: acme/web, instruction: Bump the dependencies, slack_channel: C0123ABCD, budget: { usd: 1 } }',
          'hooks:',
          '  - { name: sentry, repository: acme/web, instruction: Fix the error, fields: { error: "{{data.issue.title}}" } }',
        ].join('\n'),
      ),
    );

    expect(file.schedules[0]).toEqual({
      name: 'deps',
      cron: '0 6 * * 1',
      timezone: 'UTC',
      repository: 'acme/web',
      instruction: 'Bump the dependencies',
      slack_channel: 'C0123ABCD',
      budget: { usd: 1 },
    });
    expect(file.hooks[0]).toMatchObject({
      name: 'sentry',
      per_hour: 20,
      fields: { error: '{{data.issue.title}}' },
    });
  });

  it.each([
    ['name: deps, cron: "every monday"', 'schedules.0.cron'],
    ['name: deps, cron: "0 6 * * 1", timezone: Mars/Olympus', 'schedules.0.timezone'],
    ['name: "Nightly:Deps", cron: "0 6 * * 1"', 'schedules.0.name'],
  ])('names the field of a bad schedule (%s)', (fields, where) => {
    const err = errorOf(() =>
      parseFileConfig(yaml(`schedules:\n  - { repository: acme/web, instruction: x, ${fields} }\n`)),
    );

    expect(err.message).toContain(where);
  });

  it('refuses a schedule or hook on a repository off the allowlist, and a name listed twice', () => {
    const err = errorOf(() =>
      parseFileConfig(
        yaml(
          [
            'schedules:',
            '  - { name: deps, cron: "0 6 * * *", repository: acme/other, instruction: x }',
            'hooks:',
            '  - { name: sentry, repository: acme/web, instruction: x }',
            '  - { name: sentry, repository: acme/web, instruction: y }',
          ].join('\n'),
        ),
      ),
    );

    expect(err.message).toContain('schedules.0.repository: acme/other is not in repositories');
    expect(err.message).toContain('hooks.1.name: sentry is listed twice');
  });

  it('refuses a schedule whose model is none of models:, and takes one that is', () => {
    const file = (model: string) =>
      parseFileConfig(
        yaml(
          [
            'models:',
            '  - { name: gpt-5-codex }',
            '  - { name: qwen3-coder, context_window: 65536 }',
            'schedules:',
            `  - { name: deps, cron: "0 6 * * *", repository: acme/web, instruction: x, model: ${model} }`,
          ].join('\n'),
        ),
      );
    const env = parseEnv({ PATCHBAY_CONFIG: 'patchbay.yml' });

    const err = errorOf(() => buildConfig(env, file('qwen3-codr')));

    expect(err.message).toContain('patchbay.yml schedules.0.model: there is no model named "qwen3-codr"');
    expect(err.message).toContain('`qwen3-coder`');
    expect(buildConfig(env, file('qwen3-coder')).models.find('qwen3-coder')?.contextWindow).toBe(65536);
  });
});

describe('hook secrets in the environment', () => {
  it('gathers PATCHBAY_HOOK_SECRET_<NAME> for the hook of that name', () => {
    const env = parseEnv({ PATCHBAY_HOOK_SECRET_SENTRY_PROD: 'a-long-enough-secret-value' });

    expect(hookSecretVariable('sentry-prod')).toBe('PATCHBAY_HOOK_SECRET_SENTRY_PROD');
    expect(hookSecretOf(env, 'sentry-prod')).toBe('a-long-enough-secret-value');
    expect(hookSecretOf(env, 'pagerduty')).toBeUndefined();
  });

  it('names a short secret and never shows it', () => {
    const err = errorOf(() => parseEnv({ PATCHBAY_HOOK_SECRET_SENTRY: 'short-one' }));

    expect(err.message).toContain('PATCHBAY_HOOK_SECRET_SENTRY');
    expect(err.message).not.toContain('short-one');
  });
});
