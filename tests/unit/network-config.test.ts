import { describe, expect, it } from 'vitest';
import { parseFileConfig } from '../../src/config/load-config.js';
import { allowedDomains } from '../../src/config/network-schema.js';

const repoWith = (keys: string) => `repositories:\n  - name: acme/web\n${keys}`;

describe('patchbay.yml network keys', () => {
  it('defaults to off with nothing allowed', () => {
    const repo = parseFileConfig(repoWith('')).repositories[0];

    expect(repo?.network).toBe('off');
    expect(allowedDomains(repo ?? { network: 'off', domains: [] })).toEqual([]);
  });

  it('takes an allowlist of domains and the registries preset, names normalized, each once', () => {
    const repo = parseFileConfig(
      repoWith(
        '    network: allowlist\n    domains: [Example.ORG., registry.npmjs.org]\n    preset: registries\n',
      ),
    ).repositories[0];

    const domains = allowedDomains(repo ?? { network: 'off', domains: [] });

    expect(domains.slice(0, 2)).toEqual(['example.org', 'registry.npmjs.org']);
    expect(domains).toEqual(
      expect.arrayContaining(['pypi.org', 'files.pythonhosted.org', 'static.crates.io', 'proxy.golang.org']),
    );
    expect(domains).toEqual(expect.arrayContaining(['repo.maven.apache.org', 'rubygems.org']));
    expect(domains.filter((d) => d === 'registry.npmjs.org')).toHaveLength(1);
  });

  it.each([
    ['https://example.org', /no scheme or path/],
    ['example.org:443', /no port/],
    ['*.example.org', /no wildcard/],
    ['10.0.0.1', /IP address/],
    ['localhost', /bare name/],
    ['exa mple.org', /letters, digits, hyphens/],
  ])('refuses %s in domains with a clear error', (name, message) => {
    expect(() => parseFileConfig(repoWith(`    network: allowlist\n    domains: ["${name}"]\n`))).toThrow(
      message,
    );
  });

  it('refuses an allowlist with nothing in it, names without the allowlist, and unknown values', () => {
    expect(() => parseFileConfig(repoWith('    network: allowlist\n'))).toThrow(/needs `domains` or `preset/);
    expect(() => parseFileConfig(repoWith('    domains: [example.org]\n'))).toThrow(
      /need `network: allowlist`/,
    );
    expect(() => parseFileConfig(repoWith('    network: on\n'))).toThrow(/network is 'off' or 'allowlist'/);
    expect(() => parseFileConfig(repoWith('    network: allowlist\n    preset: everything\n'))).toThrow(
      /preset is 'registries'/,
    );
  });
});
