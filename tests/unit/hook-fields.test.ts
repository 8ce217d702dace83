import { describe, expect, it } from 'vitest';
import { checkHookSignature, signHook } from '../../src/server/hook-signature.js';
import { renderHookFields } from '../../src/server/render-hook-fields.js';

describe('renderHookFields', () => {
  const body = {
    event: {
      title: 'TypeError in greet',
      level: 'error',
      count: 3,
      resolved: false,
      tags: ['a', 'b'],
      user: null,
    },
    items: [{ name: 'first' }],
  };

  it('fills in each placeholder from the body and nothing else', () => {
    const text = renderHookFields(
      'sentry',
      {
        error: '{{event.title}} ({{ event.level }})',
        seen: '{{event.count}} times, resolved {{event.resolved}}, tags {{event.tags}}',
        first: '{{items.0.name}}',
        absent: '[{{event.user.name}}][{{nothing}}]',
        literal: '{{ event.title | upper }} {{constructor}} {{event.title.length}}',
      },
      body,
    );

    expect(text).toBe(
      [
        'Fields of the delivery to hook "sentry", as the sender wrote them:',
        'error: TypeError in greet (error)',
        'seen: 3 times, resolved false, tags ["a","b"]',
        'first: first',
        'absent: [][]',
        'literal: {{ event.title | upper }}  ',
      ].join('\n'),
    );
  });

  it('cuts a long value and gives no context without fields', () => {
    const text = renderHookFields('h', { long: '{{v}}' }, { v: 'x'.repeat(5_000) }) ?? '';

    expect(text.length).toBeLessThan(2_200);
    expect(text).toMatch(/… \(cut\)$/);
    expect(renderHookFields('h', {}, body)).toBeUndefined();
  });
});

describe('checkHookSignature', () => {
  const secret = 'hook-secret-0123456789abcdef';
  const body = Buffer.from('{"a":1}');
  const now = Date.parse('2026-11-20T09:00:00Z');
  const ts = String(now / 1000);

  it('takes the HMAC of "<timestamp>.<body>" made with the secret', () => {
    expect(
      checkHookSignature({ secret, body, timestamp: ts, signature: signHook(secret, ts, body), now }),
    ).toEqual({
      ok: true,
    });
  });

  it.each([
    ['another secret', { signature: signHook('another-secret-0123456789', ts, body) }, 'bad signature'],
    ['another body', { signature: signHook(secret, ts, '{"a":2}') }, 'bad signature'],
    ['a timestamp other than the signed one', { timestamp: String(now / 1000 + 1) }, 'bad signature'],
    ['no signature', { signature: undefined }, 'no signature'],
    ['no timestamp', { timestamp: undefined }, 'no timestamp'],
  ])('refuses %s', (_what, change, reason) => {
    const input = { secret, body, timestamp: ts, signature: signHook(secret, ts, body), now, ...change };

    expect(checkHookSignature(input)).toEqual({ ok: false, reason });
  });

  it('refuses a correctly signed timestamp more than five minutes off', () => {
    const old = String(now / 1000 - 301);

    expect(
      checkHookSignature({ secret, body, timestamp: old, signature: signHook(secret, old, body), now }),
    ).toEqual({
      ok: false,
      reason: 'stale timestamp',
    });
  });
});
