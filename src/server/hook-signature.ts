import { createHmac, timingSafeEqual } from 'node:crypto';

/** A hook's delivery may be this far from the server's time, either way. */
export const HOOK_TOLERANCE_S = 5 * 60;

export type HookSignatureCheck =
  | { ok: true }
  | { ok: false; reason: 'no signature' | 'bad signature' | 'no timestamp' | 'stale timestamp' };

/**
 * `X-Patchbay-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the hook's secret,
 * compared in constant time, and `X-Patchbay-Timestamp` (Unix seconds) within five minutes of `now`.
 * The timestamp is signed with the body, so an old delivery cannot be sent again with a new one.
 */
export function checkHookSignature(input: {
  secret: string;
  body: Buffer;
  timestamp: string | undefined;
  signature: string | undefined;
  now: number;
}): HookSignatureCheck {
  if (!input.signature) return { ok: false, reason: 'no signature' };
  if (!input.timestamp || !/^\d{1,12}$/.test(input.timestamp)) return { ok: false, reason: 'no timestamp' };
  const expected = Buffer.from(signHook(input.secret, input.timestamp, input.body));
  const given = Buffer.from(input.signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad signature' };
  }
  const skew = Math.abs(input.now / 1000 - Number(input.timestamp));
  if (skew > HOOK_TOLERANCE_S) return { ok: false, reason: 'stale timestamp' };
  return { ok: true };
}

/** The signature a sender puts in `X-Patchbay-Signature`. */
export function signHook(secret: string, timestamp: string, body: Buffer | string): string {
  const hmac = createHmac('sha256', secret).update(`${timestamp}.`).update(body);
  return `sha256=${hmac.digest('hex')}`;
}
