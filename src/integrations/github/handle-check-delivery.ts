import type { RepositoryRules } from '../../config/repository-rules.js';
import type { KeyValueStore } from '../../domain/ports.js';
import type { Clock } from '../../lib/clock.js';
import { type AutofixStart, type AutofixStartDeps, startAutofix } from './autofix-start.js';
import { type CheckApi, MissingPermission } from './check-api.js';
import { parseCheckDelivery } from './check-events.js';
import {
  type ChecksSoFar,
  decideOnChecks,
  judgeChecks,
  WAIT_AFTER_FIRST_FAILURE_MS,
} from './check-verdict.js';
import type { DispatchResult, GitHubDelivery } from './github-webhook-receiver.js';
import type { PermissionNotice } from './permission-notice.js';
import type { ResultCommits } from './result-commits.js';

/** Wakes the GitHub integration with `data` at `at` (ms since the epoch); a key is set once. */
export interface Alarms {
  set(key: string, at: number, data: unknown): Promise<void>;
}

export interface AutofixDeps extends AutofixStartDeps {
  repositories: RepositoryRules;
  checks: CheckApi;
  results: Pick<ResultCommits, 'find'>;
  permissions: PermissionNotice;
  kv: KeyValueStore;
  /** Absent: no alarms (a process that cannot set them looks at a commit only when an event comes). */
  alarms?: Alarms;
  clock: Clock;
}

/** A commit on a `patchbay/` branch whose checks moved. */
export interface CommitToJudge {
  repo: string;
  sha: string;
  branch: string;
}

const DECIDED_TTL_S = 30 * 86_400;
/** A result commit is recorded as its task finishes, which a quick check can beat: look once more. */
const RECHECK_UNRECORDED_MS = 2 * 60_000;

const decidedKey = (c: CommitToJudge) => `autofix-decided:${c.repo.toLowerCase()}:${c.sha}`;
const firstFailureKey = (c: CommitToJudge) => `autofix-first-failure:${c.repo.toLowerCase()}:${c.sha}`;

/**
 * A verified `check_suite`, `check_run`, `status` or `workflow_run` delivery: dropped at once unless
 * it is about a `patchbay/` branch, else the commit is judged. Check results count whoever made them
 * (`github-actions[bot]` and other Apps included): "bots start nothing" is for comments and reviews.
 */
export async function handleCheckDelivery(
  deps: AutofixDeps,
  delivery: GitHubDelivery,
): Promise<DispatchResult> {
  const parsed = parseCheckDelivery(delivery.event, delivery.body);
  const meta = { event: delivery.event, delivery: delivery.deliveryId };
  if (parsed.kind === 'malformed') {
    deps.log.warn({ ...meta, reason: parsed.reason }, 'github webhook malformed');
    return 'malformed';
  }
  if (parsed.kind === 'ignored') {
    deps.log.debug({ ...meta, reason: parsed.reason }, 'github check event dropped');
    return 'ignored';
  }
  const { repo, sha, branch } = parsed.signal;
  const outcome = await judgeCommit(deps, { repo, sha, branch }, meta);
  return outcome.kind === 'queued' ? 'queued' : 'ignored';
}

/**
 * Judges a commit's checks (on an event, or on an alarm set at its first failure): once every check
 * is done, or 10 minutes after the first failure, a commit with a failure that Patchbay pushed as a
 * result gets one follow-up (a key per commit: the many events of one commit decide once).
 */
export async function judgeCommit(
  deps: AutofixDeps,
  commit: CommitToJudge,
  meta: Record<string, unknown> = {},
): Promise<AutofixStart | { kind: 'waiting' }> {
  const log = deps.log.child({ ...meta, repo: commit.repo, sha: commit.sha.slice(0, 12) });
  const skip = (reason: string): AutofixStart => {
    log.info({ reason }, 'autofix skipped');
    return { kind: 'skipped', reason };
  };
  const settings = deps.repositories.find(commit.repo);
  if (!settings) return skip('repository not on the allowlist');
  if (settings.autofix === false) return skip('autofix is off for this repository');
  if (await deps.kv.get(decidedKey(commit))) return skip('already decided for this commit');
  const result = await deps.results.find(commit.repo, commit.sha);
  if (!result) {
    await deps.alarms?.set(
      `recheck:${commit.repo}:${commit.sha}`,
      deps.clock.now() + RECHECK_UNRECORDED_MS,
      commit,
    );
    return skip('not a commit Patchbay pushed as a result');
  }
  await deps.permissions.lookOnce(commit.repo);
  const checks = await readChecks(deps, commit);
  const firstFailureAt = checks.failed.length ? await firstFailure(deps, commit) : undefined;
  const decision = decideOnChecks(checks, firstFailureAt, deps.clock.now());
  if (decision === 'passed') {
    await deps.kv.set(decidedKey(commit), 'passed', DECIDED_TTL_S);
    return skip('checks passed');
  }
  if (decision === 'wait') {
    if (firstFailureAt !== undefined) {
      await deps.alarms?.set(
        `wait:${commit.repo}:${commit.sha}`,
        firstFailureAt + WAIT_AFTER_FIRST_FAILURE_MS,
        commit,
      );
    }
    log.info({ failed: checks.failed.length }, 'autofix waits for the other checks');
    return { kind: 'waiting' };
  }
  return decideOnce(deps, commit, { result, checks, maxRounds: settings.autofix.max_rounds }, skip);
}

/** One process decides for a commit; a decision that could not be carried out leaves it open. */
async function decideOnce(
  deps: AutofixDeps,
  commit: CommitToJudge,
  found: Pick<Parameters<typeof startAutofix>[1], 'result' | 'checks' | 'maxRounds'>,
  skip: (reason: string) => AutofixStart,
): Promise<AutofixStart> {
  if (!(await deps.kv.setIfAbsent(decidedKey(commit), 'deciding', DECIDED_TTL_S)))
    return skip('already decided for this commit');
  try {
    const started = await startAutofix(deps, { repo: commit.repo, sha: commit.sha, ...found });
    if (started.kind === 'skipped') {
      if (started.again) await deps.kv.delete(decidedKey(commit));
      return skip(started.reason);
    }
    return started;
  } catch (err) {
    await deps.kv.delete(decidedKey(commit));
    throw err;
  }
}

/** When the commit's first failure was seen: now, for the first look that sees one. */
async function firstFailure(deps: AutofixDeps, commit: CommitToJudge): Promise<number> {
  const now = String(deps.clock.now());
  await deps.kv.setIfAbsent(firstFailureKey(commit), now, DECIDED_TTL_S);
  return Number((await deps.kv.get(firstFailureKey(commit))) ?? now);
}

/** Check runs, statuses and workflow runs; what the App may not read counts as none, and is said once. */
async function readChecks(deps: AutofixDeps, commit: CommitToJudge): Promise<ChecksSoFar> {
  const tolerant = async <T>(read: Promise<T[]>): Promise<T[]> => {
    try {
      return await read;
    } catch (err) {
      if (!(err instanceof MissingPermission)) throw err;
      await deps.permissions.refused(err.permission);
      return [];
    }
  };
  const [runs, statuses, workflowRuns] = await Promise.all([
    tolerant(deps.checks.checkRuns(commit.repo, commit.sha)),
    tolerant(deps.checks.statuses(commit.repo, commit.sha)),
    tolerant(deps.checks.workflowRuns(commit.repo, commit.sha)),
  ]);
  return judgeChecks({ runs, statuses, workflowRuns });
}
