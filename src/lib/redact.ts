/** Shapes of credentials that must never be shown, whoever echoes them (an endpoint, git, a proxy). */
const TOKEN_SHAPES: RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{12,}/g,
  /\bgh[pousr]_[A-Za-z0-9]{20,}/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/g,
  /\blin_(?:api|oauth)_[A-Za-z0-9]{20,}/g,
  /(authorization:\s*(?:bearer|basic|token)\s+)[^\s'"]+/gi,
  /(\/\/[^/\s:@]+:)[^@\s/]+(?=@)/g,
];

/**
 * Returns a function that replaces every configured secret value and every credential-shaped string
 * with `[redacted]`. Short values are skipped: redacting "abc" everywhere would garble text.
 */
export function createRedactor(secrets: Array<string | undefined>): (text: string) => string {
  const values = [
    ...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 8)),
  ].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const value of values) out = out.split(value).join('[redacted]');
    for (const shape of TOKEN_SHAPES) {
      out = out.replace(shape, (_match, keep?: string) =>
        typeof keep === 'string' ? `${keep}[redacted]` : '[redacted]',
      );
    }
    return out;
  };
}
