import { describe, expect, it } from 'vitest';
import { buildConfig, parseEnv, parseFileConfig } from '../../src/config/load-config.js';
import type { PatchbayError } from '../../src/domain/errors.js';
import { knownContextWindow } from '../../src/domain/model-spec.js';
import { modelFromLabels, takeFreshStart, takeModelChoice } from '../../src/domain/request-options.js';

const config = (yaml: string, env: Record<string, string> = {}) =>
  buildConfig(parseEnv(env), parseFileConfig(`repositories:\n  - name: acme/web\n${yaml}`));

describe('models in patchbay.yml', () => {
  it('resolves entries: the table’s window for known names, the old pricing: for a price', () => {
    const { models } = config(
      [
        'models:',
        '  - name: gpt-5-codex',
        '  - name: openrouter/qwen/qwen3-coder',
        '    price: { input: 0.2, output: 0.8 }',
        '  - name: my-local-model',
        '    context_window: 65536',
        '    reasoning_effort: high',
        '    max_output_tokens: 4096',
        'pricing:',
        '  gpt-5-codex: { input: 1.25, cached_input: 0.125, output: 10 }',
      ].join('\n'),
    );

    expect(models.all.map((m) => m.name)).toEqual([
      'gpt-5-codex',
      'openrouter/qwen/qwen3-coder',
      'my-local-model',
    ]);
    expect(models.default.name).toBe('gpt-5-codex');
    expect(models.find('gpt-5-codex')).toMatchObject({
      contextWindow: 400_000,
      price: { input: 1.25, cached_input: 0.125, output: 10 },
    });
    expect(models.find('openrouter/qwen/qwen3-coder')).toMatchObject({
      contextWindow: 262_144,
      price: { input: 0.2 },
    });
    expect(models.find('my-local-model')).toEqual({
      name: 'my-local-model',
      contextWindow: 65_536,
      reasoningEffort: 'high',
      maxOutputTokens: 4_096,
      price: undefined,
    });
  });

  it('defaults to PATCHBAY_MODEL, listed or not, else the first entry, else gpt-5-codex', () => {
    const listed = 'models:\n  - name: small\n  - name: big\n';

    expect(config(listed).models.default.name).toBe('small');
    expect(config(listed, { PATCHBAY_MODEL: 'big' }).models.all.map((m) => m.name)).toEqual(['big', 'small']);
    expect(config(listed, { PATCHBAY_MODEL: 'other' }).models.all.map((m) => m.name)).toEqual([
      'other',
      'small',
      'big',
    ]);
    expect(config('').models.default).toMatchObject({ name: 'gpt-5-codex', contextWindow: 400_000 });
    expect(config('pricing:\n  gpt-5-codex: { input: 1, output: 2 }\n').models.default.price).toEqual({
      input: 1,
      output: 2,
    });
  });

  it('chooses a listed model by name and refuses any other, naming the list', () => {
    const { models } = config('models:\n  - name: small\n  - name: big\n');

    const refusal = (() => {
      try {
        models.choose('huge');
      } catch (err) {
        return err as PatchbayError;
      }
      throw new Error('expected a refusal');
    })();

    expect(models.choose('big').name).toBe('big');
    expect(models.choose(undefined).name).toBe('small');
    expect(refusal).toMatchObject({ code: 'invalid_request', permanent: true });
    expect(refusal.message).toContain('"huge"');
    expect(refusal.hint).toContain('`small`, `big`');
  });

  it('rejects a model listed twice and an unknown reasoning effort', () => {
    expect(() => config('models:\n  - name: a\n  - name: a\n')).toThrow(/models\.1\.name: a is listed twice/);
    expect(() => config('models:\n  - name: a\n    reasoning_effort: extreme\n')).toThrow(/reasoning_effort/);
    expect(() => config('models:\n  - name: a\n    context_window: 100\n')).toThrow(/context_window/);
  });

  it('knows the windows of common models by prefix, ignoring a provider prefix', () => {
    expect(knownContextWindow('gpt-5-mini')).toBe(400_000);
    expect(knownContextWindow('Qwen/Qwen2.5-Coder-32B-Instruct')).toBe(32_768);
    expect(knownContextWindow('anthropic/claude-sonnet-4')).toBe(200_000);
    expect(knownContextWindow('some-local-thing')).toBeUndefined();
  });
});

describe('what a request says besides the work', () => {
  it.each([
    ['model=qwen3-coder fix the flaky test', 'qwen3-coder', 'fix the flaky test'],
    ['fix the flaky test model=gpt-5-codex', 'gpt-5-codex', 'fix the flaky test'],
    ['repo=acme/web model = openai/gpt-5, then add a flag', 'openai/gpt-5', 'repo=acme/web, then add a flag'],
    ['fix the model=... parsing', undefined, 'fix the model=... parsing'],
    ['update the data model', undefined, 'update the data model'],
  ])('reads %j as model %s', (text, model, rest) => {
    expect(takeModelChoice(text)).toEqual(model ? { model, text: rest } : { text: rest });
  });

  it.each([
    ['fresh: redo it with zod', true, 'redo it with zod'],
    ['Fresh start — try another approach', true, 'try another approach'],
    ['fresh\nbegin again from the branch', true, 'begin again from the branch'],
    ['Fresh installs fail on Windows', false, 'Fresh installs fail on Windows'],
    ['fresh-install script is broken', false, 'fresh-install script is broken'],
    ['also cover the empty case', false, 'also cover the empty case'],
  ])('reads %j as fresh: %s', (text, fresh, rest) => {
    expect(takeFreshStart(text)).toEqual({ fresh, text: rest });
  });

  it('takes a model from a patchbay:model= label', () => {
    expect(modelFromLabels(['bug', 'patchbay:model=qwen3-coder', 'patchbay:model=other'])).toBe(
      'qwen3-coder',
    );
    expect(modelFromLabels(['bug', 'repo:acme/web'])).toBeUndefined();
  });
});
