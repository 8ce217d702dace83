import { z } from 'zod';

/**
 * `preset: registries`: the public package registries a dependency install needs (npm, PyPI,
 * crates.io, the Go module proxy, Maven Central, RubyGems). A name also allows its subdomains.
 */
export const NETWORK_PRESETS = {
  registries: [
    'registry.npmjs.org',
    'pypi.org',
    'files.pythonhosted.org',
    'crates.io',
    'static.crates.io',
    'index.crates.io',
    'proxy.golang.org',
    'sum.golang.org',
    'repo.maven.apache.org',
    'repo1.maven.org',
    'rubygems.org',
    'index.rubygems.org',
  ],
} as const;

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A DNS name the agent's commands may reach (with its subdomains): lower-cased, a trailing dot dropped.
 * No IP literal, no wildcard, no scheme or port: the proxy matches names, and an address would let a
 * listed entry point at the host's own network.
 */
export const DomainName = z
  .string()
  .trim()
  .transform((name) => name.toLowerCase().replace(/\.$/, ''))
  .superRefine((name, ctx) => {
    const problem = domainProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(name)} ${problem}` });
  });

function domainProblem(name: string): string | undefined {
  if (name.includes('://') || name.includes('/'))
    return 'is not a domain name (write the name alone, no scheme or path)';
  if (name.includes(':')) return 'is not a domain name (no port, no IPv6 address)';
  if (name.includes('*')) return 'is not a domain name (no wildcard: a name already allows its subdomains)';
  if (/^[0-9.]+$/.test(name)) return 'is an IP address: list domain names only';
  if (name.length === 0 || name.length > 253) return 'is not a domain name (1 to 253 characters)';
  if (!name.split('.').every((label) => LABEL.test(label))) {
    return 'is not a domain name (letters, digits, hyphens and dots)';
  }
  if (!name.includes('.'))
    return 'is not a domain name with a dot (a bare name like localhost is not allowed)';
  return undefined;
}

/**
 * A repository's `network:` for the agent's commands. `off` (the default): no network at all.
 * `allowlist`: only `domains` (and `preset`'s names) through Patchbay's filtering proxy.
 */
export const NetworkConfig = z.enum(['off', 'allowlist'], { error: "network is 'off' or 'allowlist'" });
export type NetworkConfig = z.infer<typeof NetworkConfig>;

export const NetworkKeys = {
  network: NetworkConfig.default('off'),
  domains: z.array(DomainName).default([]),
  preset: z.enum(['registries'], { error: "preset is 'registries'" }).optional(),
};

/** The names a repository's agent may reach: its `domains` and its preset's, once each; none when off. */
export function allowedDomains(repo: {
  network: NetworkConfig;
  domains: readonly string[];
  preset?: keyof typeof NETWORK_PRESETS | undefined;
}): string[] {
  if (repo.network !== 'allowlist') return [];
  const preset = repo.preset ? NETWORK_PRESETS[repo.preset] : [];
  return [...new Set([...repo.domains, ...preset])];
}

/** `allowlist` with nothing listed, or names listed while the network is off: a clear error, not a silent no-op. */
export function checkNetworkKeys(
  repo: { network: NetworkConfig; domains: readonly string[]; preset?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (repo.network === 'allowlist' && repo.domains.length === 0 && !repo.preset) {
    ctx.addIssue({
      code: 'custom',
      path: ['domains'],
      message: 'network: allowlist needs `domains` or `preset: registries`',
    });
  }
  if (repo.network === 'off' && (repo.domains.length > 0 || repo.preset)) {
    ctx.addIssue({
      code: 'custom',
      path: ['network'],
      message: '`domains` and `preset` need `network: allowlist`',
    });
  }
}
