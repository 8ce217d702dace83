import { z } from 'zod';
import { addressKey, MAX_AUDIENCE, ReplyAddress } from './reply-address.js';

/**
 * Reading what the previous version stored, so that tasks and conversations it left behind still
 * report after an upgrade. It kept a place as an `origin` with an untyped `ref` (`team`, `channel`,
 * `thread_ts`, `message_ts` for Slack; `sessionId` or `mode: assignment`, `issueId`, `organizationId`
 * for Linear; `pr` for GitHub), a second one as the request's `alsoNotify`, and Linear's attached
 * places in a list of its own. Nothing writes these shapes any more.
 */
const LegacyOrigin = z.object({
  source: z.string(),
  ref: z.record(z.string(), z.string()).optional(),
});

const LegacyLinearTarget = z.union([
  z.object({ kind: z.literal('session'), sessionId: z.string(), organizationId: z.string().optional() }),
  z.object({ kind: z.literal('issue'), issueId: z.string(), organizationId: z.string().optional() }),
]);

/** The address an old `origin` pointed at, if any (the API and the CLI had none). */
export function legacyAddress(origin: unknown, repo: string): ReplyAddress | undefined {
  const parsed = LegacyOrigin.safeParse(origin);
  if (!parsed.success) return undefined;
  const ref = parsed.data.ref ?? {};
  const organizationId = ref.organizationId || undefined;
  const candidate = (() => {
    switch (parsed.data.source) {
      case 'slack':
        return {
          kind: 'slack-thread',
          team: ref.team,
          channel: ref.channel,
          threadTs: ref.thread_ts,
          messageTs: ref.message_ts || undefined,
        };
      case 'linear':
        if (ref.sessionId)
          return { kind: 'linear-session', sessionId: ref.sessionId, issueId: ref.issueId, organizationId };
        return ref.mode === 'assignment'
          ? { kind: 'linear-issue', issueId: ref.issueId, organizationId }
          : null;
      case 'github':
        return { kind: 'github-pull', repo, number: Number(ref.pr) };
      default:
        return null;
    }
  })();
  const address = ReplyAddress.safeParse(candidate);
  return address.success ? address.data : undefined;
}

/**
 * The audience of a task stored by the previous version: its origin, its `alsoNotify`, then the
 * Linear places attached to it (`attached`, the old list's JSON), each once.
 */
export function legacyAudience(rawRecord: unknown, attached: unknown): ReplyAddress[] {
  const request = (rawRecord as { request?: Record<string, unknown> } | null)?.request ?? {};
  const repo = typeof request.repo === 'string' ? request.repo : '';
  const origin = legacyAddress(request.origin, repo);
  const found = [origin, legacyAddress(request.alsoNotify, repo)];
  const issueId = origin && 'issueId' in origin ? origin.issueId : undefined;
  for (const item of Array.isArray(attached) ? attached : []) {
    const target = LegacyLinearTarget.safeParse(item);
    if (!target.success) continue;
    const t = target.data;
    if (t.kind === 'issue') {
      found.push({ kind: 'linear-issue', issueId: t.issueId, organizationId: t.organizationId });
    } else if (issueId) {
      found.push({
        kind: 'linear-session',
        sessionId: t.sessionId,
        issueId,
        organizationId: t.organizationId,
      });
    }
  }
  const seen = new Set<string>();
  return found
    .filter((a): a is ReplyAddress => a !== undefined)
    .filter((a) => !seen.has(addressKey(a)) && Boolean(seen.add(addressKey(a))))
    .slice(0, MAX_AUDIENCE);
}
