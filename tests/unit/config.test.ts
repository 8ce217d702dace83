import { describe, expect, it } from 'vitest';
import { parseEnv, parseFileConfig } from '../../src/config/load-config.js';
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

describe('environment', () => {
  it('applies the documented defaults', () => {
    const env = parseEnv({});

    expect(env).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      PORT: 3000,
      PATCHBAY_CONFIG: 'patchbay.yml',
      PATCHBAY_CONCURRENCY: 2,
      PATCHBAY_SANDBOX: 'bwrap',
      GITHUB_API_URL: 'https://api.github.com',
      GITHUB_SERVER_URL: 'https://github.com',
      SLACK_API_URL: 'https://slack.com/api/',
      LINEAR_API_URL: 'https://api.linear.app/graphql',
    });
  });

  it('names the bad variable and never echoes its value', () => {
    const err = errorOf(() =>
      parseEnv({ PATCHBAY_SANDBOX: 'docker-secret-value', PATCHBAY_API_TOKEN: 'short' }),
    );

    expect(err.code).toBe('invalid_config');
    expect(err.message).toContain('PATCHBAY_SANDBOX');
    expect(err.message).toContain('PATCHBAY_API_TOKEN');
    expect(err.message).not.toContain('docker-secret-value');
    expect(err.message).not.toContain('short');
  });

  it('treats empty variables as unset', () => {
    expect(parseEnv({ GITHUB_TOKEN: '', PORT: '' }).GITHUB_TOKEN).toBeUndefined();
  });
});

describe('patchbay.yml', () => {
  it('accepts the smallest file, a list of repositories, with defaults filled in', () => {
    const file = parseFileConfig('repositories:\n  - name: acme/web\n');

    expect(file.repositories[0]).toMatchObject({
      name: 'acme/web',
      setup: [],
      check: [],
      allow_workflows: false,
    });
    expect(file.budget).toEqual({ steps: 100, minutes: 30, usd: 3 });
    expect(file.retention_days).toBe(30);
  });

  it('parses the documented example', async () => {
    const { readFile } = await import('node:fs/promises');

    const file = parseFileConfig(await readFile('patchbay.example.yml', 'utf8'));

    expect(file.repositories.map((r) => r.name)).toEqual(['acme/web', 'acme/api']);
    expect(file.models[0]).toEqual({
      name: 'gpt-5-codex',
      price: { input: 1.25, cached_input: 0.125, output: 10 },
    });
    expect(file.models[1]).toMatchObject({ name: 'qwen3-coder', context_window: 65_536 });
    expect(file.slack.channels).toEqual({ C0123ABCD: 'acme/web' });
  });

  it.each([
    ['repositories: []', 'repositories'],
    ['repositories:\n  - name: not-a-repo', 'repositories.0.name'],
    ['repositories:\n  - name: acme/web\n    setup: "npm ci"', 'repositories.0.setup'],
    ['repositories:\n  - name: acme/web\nbudget: { steps: -1 }', 'budget.steps'],
    ['repositories:\n  - name: acme/web\nbugdet: {}', 'bugdet'],
    ['repositories:\n  - name: acme/web\ndefaults: { repository: acme/api }', 'defaults.repository'],
    ['repositories:\n  - name: acme/web\nslack: { channels: { C1: acme/other } }', 'slack.channels.C1'],
    ['repositories:\n  - name: acme/web\n  - name: acme/web', 'listed twice'],
  ])('rejects %j naming %s', (text, field) => {
    const err = errorOf(() => parseFileConfig(text));

    expect(err.code).toBe('invalid_config');
    expect(err.message).toContain(field);
  });

  it('says when the file is not YAML', () => {
    expect(errorOf(() => parseFileConfig('repositories: [')).message).toMatch(/not valid YAML/);
  });
});
