import { describe, expect, it } from 'vitest';
import type { CheckRun } from '../../src/integrations/github/check-api.js';
import { parseCheckDelivery } from '../../src/integrations/github/check-events.js';
import { decideOnChecks, judgeChecks } from '../../src/integrations/github/check-verdict.js';
import { logTail, renderFailureExcerpt } from '../../src/integrations/github/failure-excerpt.js';
import { isResultMessage } from '../../src/integrations/github/result-commits.js';
import { createRedactor } from '../../src/lib/redact.js';
import { checkEvent } from '../fakes/github-webhooks.js';

const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const run = (over: Partial<CheckRun> = {}): CheckRun => ({
  id: 1,
  name: 'test',
  status: 'completed',
  conclusion: 'success',
  app: { slug: 'github-actions' },
  ...over,
});
const MINUTE = 60_000;

describe("a commit's checks", () => {
  it('counts failures of any App and of commit statuses; cancelled, neutral and skipped are no failures', () => {
    const checks = judgeChecks({
      runs: [
        run({ name: 'unit', conclusion: 'failure' }),
        run({ name: 'dco', conclusion: 'timed_out', app: { slug: 'dco-bot' } }),
        run({ name: 'old', conclusion: 'cancelled' }),
        run({ name: 'docs', conclusion: 'skipped' }),
        run({ name: 'lint', conclusion: 'neutral' }),
      ],
      statuses: [
        { context: 'ci/ext', state: 'error', description: 'crashed' },
        { context: 'ci/ok', state: 'success' },
      ],
      workflowRuns: [],
    });

    expect(checks.failed.map((f) => f.name)).toEqual(['unit', 'dco', 'ci/ext']);
    expect(checks.complete).toBe(true);
  });

  it('is unfinished while a check run, a workflow run or a status is still going', () => {
    const done = { runs: [run()], statuses: [], workflowRuns: [] };

    expect(judgeChecks({ ...done, runs: [run({ status: 'in_progress', conclusion: null })] }).complete).toBe(
      false,
    );
    expect(
      judgeChecks({ ...done, workflowRuns: [{ id: 1, status: 'queued', conclusion: null }] }).complete,
    ).toBe(false);
    expect(judgeChecks({ ...done, statuses: [{ context: 'ci', state: 'pending' }] }).complete).toBe(false);
  });

  it('fixes once everything is done, or 10 minutes after the first failure; waits before', () => {
    const failedSoFar = {
      failed: judgeChecks({ runs: [run({ conclusion: 'failure' })], statuses: [], workflowRuns: [] }).failed,
    };
    const t0 = Date.parse('2026-11-20T09:00:00Z');

    expect(decideOnChecks({ failed: [], complete: true }, undefined, t0)).toBe('passed');
    expect(decideOnChecks({ failed: [], complete: false }, undefined, t0)).toBe('wait');
    expect(decideOnChecks({ ...failedSoFar, complete: true }, t0, t0)).toBe('fix');
    expect(decideOnChecks({ ...failedSoFar, complete: false }, t0, t0 + 10 * MINUTE - 1)).toBe('wait');
    expect(decideOnChecks({ ...failedSoFar, complete: false }, t0, t0 + 10 * MINUTE)).toBe('fix');
  });
});

describe('check deliveries', () => {
  it('drops at once what is not on a patchbay/ branch, and what is not completed', () => {
    const other = checkEvent('check_suite', { sha: SHA, branch: 'main' });
    const requested = {
      ...checkEvent('check_run', { sha: SHA, branch: 'patchbay/x-fix' }),
      action: 'created',
    };
    const pending = checkEvent('status', { sha: SHA, branch: 'patchbay/x-fix', state: 'pending' });

    expect(parseCheckDelivery('check_suite', other)).toEqual({
      kind: 'ignored',
      reason: 'not a patchbay/ branch',
    });
    expect(parseCheckDelivery('check_run', requested)).toEqual({ kind: 'ignored', reason: 'action created' });
    expect(parseCheckDelivery('status', pending)).toEqual({ kind: 'ignored', reason: 'action pending' });
    expect(parseCheckDelivery('check_run', { action: 'completed' })).toEqual({
      kind: 'malformed',
      reason: 'not a check_run payload',
    });
  });

  it.each(['check_run', 'check_suite', 'status', 'workflow_run'] as const)(
    'reads the commit of a %s',
    (event) => {
      const parsed = parseCheckDelivery(event, checkEvent(event, { sha: SHA, branch: 'patchbay/x-fix' }));

      expect(parsed).toEqual({
        kind: 'signal',
        signal: { event, repo: 'acme/web', sha: SHA, branch: 'patchbay/x-fix', installationId: 77 },
      });
    },
  );
});

describe('the failure excerpt', () => {
  it('keeps an Actions log up to its last error, without timestamps, group markers or cleanup', () => {
    const log = [
      '2026-11-20T09:14:05.0012345Z ##[group]Run npm test',
      '2026-11-20T09:14:06.0012345Z FAIL test.js',
      '2026-11-20T09:14:06.5012345Z ##[endgroup]',
      '2026-11-20T09:14:07.2012345Z ##[error]Process completed with exit code 1.',
      '2026-11-20T09:14:08.0012345Z Post job cleanup.',
    ].join('\r\n');

    expect(logTail(log)).toBe('Run npm test\nFAIL test.js\n##[error]Process completed with exit code 1.');
  });

  it('redacts each piece before cutting it, and stays under its cap', () => {
    const token = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';
    const failed = judgeChecks({
      runs: [
        run({ conclusion: 'failure', output: { title: `leaked ${token}`, summary: 'x'.repeat(50_000) } }),
      ],
      statuses: [],
      workflowRuns: [],
    }).failed;
    const details = failed.map((check) => ({ check, annotations: [] }));

    const text = renderFailureExcerpt({ pull: 3, sha: SHA, details }, createRedactor([]));

    expect(text).toContain('leaked [redacted]');
    expect(text).not.toContain('ghp_');
    expect(text.length).toBeLessThan(3_000);
  });
});

describe('result commits', () => {
  it('reads as the result of its task only with its trailer and without [skip ci]', () => {
    const result = 'Fix the greeting\n\ngreet() has its comma.\n\nPatchbay-Task: t1abc';

    expect(isResultMessage(result, 't1abc')).toBe(true);
    expect(isResultMessage(result, 't2def')).toBe(false);
    expect(isResultMessage(`Work in progress [skip ci]\n\nPatchbay-Task: t1abc`, 't1abc')).toBe(false);
    expect(isResultMessage('A person wrote this', 't1abc')).toBe(false);
    // Kept work in progress, even if a person's tooling dropped its [skip ci]:
    expect(
      isResultMessage('Work in progress\n\nPatchbay-Task: t1abc\nPatchbay-Kept-Work: t1abc', 't1abc'),
    ).toBe(false);
    expect(isResultMessage('Title\n\nPatchbay-Task: t1abc\n\nPatchbay-Task: t2def', 't1abc')).toBe(false);
  });
});
