import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/lib/redact.js';

describe('createRedactor', () => {
  const redact = createRedactor(['my-configured-secret-value', 'short', undefined]);

  it('removes configured secret values wherever they appear', () => {
    expect(redact('error: key my-configured-secret-value is invalid')).toBe(
      'error: key [redacted] is invalid',
    );
  });

  it('leaves short configured values alone rather than garbling text', () => {
    expect(redact('a short answer')).toBe('a short answer');
  });

  it.each([
    ['Incorrect API key provided: sk-proj-abcdefghijklmnop1234', 'Incorrect API key provided: [redacted]'],
    ['token ghs_abcdefghijklmnopqrstuvwxyz0123 expired', 'token [redacted] expired'],
    [
      'fatal: https://x-access-token:s3cr3t@github.com/acme/web.git',
      'fatal: https://x-access-token:[redacted]@github.com/acme/web.git',
    ],
    ['Authorization: Bearer abc.def.ghi', 'Authorization: Bearer [redacted]'],
    ['xoxb-1234567890-abcdefghij', '[redacted]'],
  ])('removes credential-shaped text from %j', (input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it('keeps ordinary text as it is', () => {
    const text = 'setup command `npm ci` exited 1: see https://docs.npmjs.com/cli';

    expect(redact(text)).toBe(text);
  });
});
