import type { RepositoryConfig } from './file-schema.js';
import type { Config } from './load-config.js';

/**
 * What a trigger knows of `patchbay.yml`'s repositories: the allowlist and how people name its
 * entries. Integrations get this, never the whole configuration (which holds every secret).
 */
export interface RepositoryRules {
  /** The allowlist entry for `owner/name`, whatever its case. */
  find(name: string): RepositoryConfig | undefined;
  /** The allowlist as people read it: `acme/web`, `acme/api`. */
  describe(): string;
  /** `defaults.repository`. */
  defaultRepository: string | undefined;
  /** Hosts whose URLs name a repository: github.com and GITHUB_SERVER_URL's host, lowercased. */
  hosts: readonly string[];
}

export function toRepositoryRules(config: Pick<Config, 'repositories' | 'file' | 'env'>): RepositoryRules {
  const hosts = new Set(['github.com', 'www.github.com']);
  try {
    hosts.add(new URL(config.env.GITHUB_SERVER_URL).host.toLowerCase());
  } catch {
    // the environment schema already validated the URL
  }
  return {
    find: (name) => config.repositories.get(name.toLowerCase()),
    describe: () => [...config.repositories.values()].map((r) => `\`${r.name}\``).join(', '),
    defaultRepository: config.file.defaults.repository,
    hosts: [...hosts],
  };
}

/** `owner/name` of every repository URL on these hosts (any case), in order of appearance. */
export function repoUrlsIn(text: string, hosts: readonly string[]): string[] {
  const found: string[] = [];
  const pattern = /https?:\/\/([^/\s]+)\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)/g;
  for (const match of text.slice(0, 50_000).matchAll(pattern)) {
    const [, host, owner, rawName] = match;
    if (!host || !owner || !rawName || !hosts.includes(host.toLowerCase())) continue;
    const name = rawName.replace(/\.git$/i, '').replace(/\.+$/, '');
    if (name) found.push(`${owner}/${name}`);
  }
  return found;
}
