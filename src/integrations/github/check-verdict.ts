import type { CheckRun, CommitStatus, WorkflowRun } from './check-api.js';

/** How long after a commit's first failure Patchbay stops waiting for its other checks. */
export const WAIT_AFTER_FIRST_FAILURE_MS = 10 * 60_000;

/** Conclusions that mean the check ran and found something wrong; `cancelled`, `neutral` and `skipped` do not. */
const FAILED_CONCLUSIONS: ReadonlySet<string> = new Set(['failure', 'timed_out', 'startup_failure']);

/** One failing check of a commit: a check run (any App's, bots' included) or a commit status. */
export type FailedCheck =
  | {
      kind: 'check_run';
      id: number;
      name: string;
      conclusion: string;
      app?: string;
      url?: string;
      run: CheckRun;
    }
  | { kind: 'status'; name: string; state: string; description?: string; url?: string };

/** What a commit's checks come to so far. */
export interface ChecksSoFar {
  failed: FailedCheck[];
  /** Every check run and workflow run completed and no status pending. */
  complete: boolean;
}

/**
 * The commit's checks as read: which failed, and whether all of them are done. A workflow run still
 * going counts as unfinished even before its jobs show up as check runs.
 */
export function judgeChecks(read: {
  runs: CheckRun[];
  statuses: CommitStatus[];
  workflowRuns: WorkflowRun[];
}): ChecksSoFar {
  const failed: FailedCheck[] = [];
  for (const run of read.runs) {
    if (run.status === 'completed' && run.conclusion && FAILED_CONCLUSIONS.has(run.conclusion)) {
      failed.push({
        kind: 'check_run',
        id: run.id,
        name: run.name,
        conclusion: run.conclusion,
        app: run.app?.slug,
        url: run.html_url ?? undefined,
        run,
      });
    }
  }
  for (const status of read.statuses) {
    if (status.state === 'failure' || status.state === 'error') {
      failed.push({
        kind: 'status',
        name: status.context,
        state: status.state,
        description: status.description ?? undefined,
        url: status.target_url ?? undefined,
      });
    }
  }
  const complete =
    read.runs.every((r) => r.status === 'completed') &&
    read.workflowRuns.every((r) => r.status === 'completed') &&
    read.statuses.every((s) => s.state !== 'pending');
  return { failed, complete };
}

/**
 * What to do about a commit now: nothing failed (`passed` once complete, else `wait`), or something
 * failed and either every check is done or 10 minutes passed since the first failure was seen (`fix`),
 * or Patchbay waits for the rest (`wait`, to look again at `firstFailureAt` + 10 minutes).
 */
export function decideOnChecks(
  checks: ChecksSoFar,
  firstFailureAt: number | undefined,
  now: number,
): 'passed' | 'wait' | 'fix' {
  if (checks.failed.length === 0) return checks.complete ? 'passed' : 'wait';
  if (checks.complete) return 'fix';
  return firstFailureAt !== undefined && now - firstFailureAt >= WAIT_AFTER_FIRST_FAILURE_MS ? 'fix' : 'wait';
}
