import { performance } from 'node:perf_hooks';
import { DOCS, presented } from './github-stand-in-replies.js';
import type { RecordedCall, StandInReply } from './http-stand-in.js';

/** One content-creating write the stand-in saw: when (ms, monotonic), whose, and whether it passed. */
export interface StandInWrite {
  at: number;
  /** `installation:<id>` for an installation token, else `token`. */
  key: string;
  method: string;
  path: string;
  refused: boolean;
}

/**
 * Records every content-creating write; with `paceMs`, enforces GitHub's pace for them: a POST, PATCH, PUT or DELETE that comes less
 * than `paceMs` after the last accepted write of the same installation (or the same token) is
 * refused with a 403 secondary rate limit, as GitHub answers a client that does not space its writes.
 */
export function createWritePaceEnforcer(
  paceMs: number | undefined,
  installationOf: (token: string) => number | undefined,
) {
  const writes: StandInWrite[] = [];
  const lastAccepted = new Map<string, number>();
  function check(call: RecordedCall): StandInReply | undefined {
    if (!['POST', 'PATCH', 'PUT', 'DELETE'].includes(call.method)) return undefined;
    const token = presented(call);
    const installation = token === undefined ? undefined : installationOf(token);
    const key = installation === undefined ? 'token' : `installation:${installation}`;
    const at = performance.now();
    const last = lastAccepted.get(key);
    const refused = paceMs !== undefined && last !== undefined && at - last < paceMs;
    writes.push({ at, key, method: call.method, path: call.path, refused });
    if (!refused) {
      lastAccepted.set(key, at);
      return undefined;
    }
    return {
      status: 403,
      headers: { 'retry-after': '1' },
      json: {
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        documentation_url: DOCS,
      },
    };
  }
  return { check, writes };
}

/** The most writes (accepted) of one key within any window of `windowMs`: never above 1 at the pace. */
export function maxWritesPerWindow(writes: StandInWrite[], windowMs = 1000): number {
  let max = 0;
  const byKey = new Map<string, number[]>();
  for (const w of writes) if (!w.refused) byKey.set(w.key, [...(byKey.get(w.key) ?? []), w.at]);
  for (const times of byKey.values()) {
    let start = 0;
    for (let end = 0; end < times.length; end++) {
      while ((times[end] ?? 0) - (times[start] ?? 0) >= windowMs) start++;
      max = Math.max(max, end - start + 1);
    }
  }
  return max;
}
