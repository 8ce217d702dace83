/**
 * A host name as the proxy compares it: lower-cased, without a trailing dot, or undefined when it is
 * not a plain DNS name (an IP literal, an empty or odd string). IP literals are never allowed: the
 * allowlist is of names, and an address would bypass both the list and the resolver's checks.
 */
export function normalizeHostName(host: string): string | undefined {
  const name = host.trim().toLowerCase().replace(/\.$/, '');
  if (name.length === 0 || name.length > 253) return undefined;
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(name)) return undefined;
  if (/^[0-9.]+$/.test(name)) return undefined;
  return name;
}

/** A name matches a listed domain when it is that domain or one of its subdomains (`a.b.example.org` ⊂ `example.org`). */
export function isAllowedName(name: string, domains: readonly string[]): boolean {
  return domains.some((domain) => name === domain || name.endsWith(`.${domain}`));
}

/**
 * `host:port` of a CONNECT request (`[::1]:443` included), or undefined when it has no valid port.
 * The host comes back as written; the caller normalizes it.
 */
export function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]*\]|[^:[\]]+):(\d{1,5})$/.exec(authority.trim());
  if (!match?.[1] || !match[2]) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: match[1], port };
}
