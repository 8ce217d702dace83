import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Webhooks } from '@octokit/webhooks';
import type { StandInPull } from '../../src/demo/github-stand-in.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'github');

export type GitHubEventName = 'issue_comment' | 'pull_request_review' | 'pull_request_review_comment';

const FIXTURE_OF: Record<GitHubEventName, string> = {
  issue_comment: 'issue_comment_created',
  pull_request_review: 'pull_request_review_submitted',
  pull_request_review_comment: 'pull_request_review_comment_created',
};

type Json = Record<string, unknown>;

/** The webhook's `pull_request` fields for a PR the stand-in holds (its real number, branch, body, author). */
function pullFields(pull: StandInPull): Json {
  const [owner = ''] = pull.repo.split('/');
  return {
    number: pull.number,
    html_url: pull.html_url,
    state: pull.state,
    title: pull.title,
    body: pull.body,
    user: { login: pull.user.login, type: pull.user.login.endsWith('[bot]') ? 'Bot' : 'User' },
    head: {
      label: pull.head.label,
      ref: pull.head.ref,
      repo: { full_name: pull.head.repo ?? pull.repo, name: (pull.head.repo ?? pull.repo).split('/')[1] },
    },
    base: { label: `${owner}:${pull.base.ref}`, ref: pull.base.ref, repo: { full_name: pull.repo } },
  };
}

/**
 * A trimmed real-shaped payload from tests/fixtures/github for `pull`, with overrides of the comment
 * or review and of the sender.
 */
export function githubEvent(
  event: GitHubEventName,
  pull: StandInPull,
  opts: { comment?: Json; review?: Json; sender?: Json } = {},
): Json {
  const body = JSON.parse(readFileSync(join(FIXTURES, `${FIXTURE_OF[event]}.json`), 'utf8')) as Json;
  const sender = { ...(body.sender as Json), ...opts.sender };
  if (event === 'issue_comment') {
    const issue = { ...(body.issue as Json), number: pull.number, body: pull.body, html_url: pull.html_url };
    const comment = { ...(body.comment as Json), user: sender, ...opts.comment };
    return { ...body, issue, comment, sender };
  }
  const pullRequest = { ...(body.pull_request as Json), ...pullFields(pull) };
  if (event === 'pull_request_review') {
    const review = { ...(body.review as Json), user: sender, ...opts.review };
    return { ...body, review, pull_request: pullRequest, sender };
  }
  const comment = { ...(body.comment as Json), user: sender, ...opts.comment };
  return { ...body, comment, pull_request: pullRequest, sender };
}

/**
 * POSTs a delivery to `/github/webhook` the way GitHub does: `X-GitHub-Event`, a fresh
 * `X-GitHub-Delivery` (or the one given, for a redelivery) and `X-Hub-Signature-256` made with the
 * real `Webhooks.sign`; `signature: null` sends none, a string sends that one.
 */
export async function postGitHubWebhook(
  base: string,
  secret: string,
  event: string,
  body: Json | string,
  opts: { deliveryId?: string; signature?: string | null; form?: boolean } = {},
): Promise<Response & { deliveryId: string }> {
  const json = typeof body === 'string' ? body : JSON.stringify(body);
  const raw = opts.form ? new URLSearchParams({ payload: json }).toString() : json;
  const deliveryId = opts.deliveryId ?? randomUUID();
  const signature = opts.signature === undefined ? await new Webhooks({ secret }).sign(raw) : opts.signature;
  const res = await fetch(`${base}/github/webhook`, {
    method: 'POST',
    headers: {
      'content-type': opts.form ? 'application/x-www-form-urlencoded' : 'application/json',
      'user-agent': 'GitHub-Hookshot/5f2a1c3',
      'x-github-event': event,
      'x-github-delivery': deliveryId,
      'x-github-hook-id': '512345678',
      ...(signature === null ? {} : { 'x-hub-signature-256': signature }),
    },
    body: raw,
  });
  return Object.assign(res, { deliveryId });
}

/** The ids of the follow-ups the GitHub trigger queued, from the server's log lines. */
export function followUpTaskIds(logLines: string[]): string[] {
  return logLines
    .map((line) => JSON.parse(line) as { msg?: string; taskId?: string; kind?: string })
    .filter((l) => l.msg === 'github follow-up queued' && l.kind !== 'duplicate')
    .map((l) => l.taskId ?? '');
}

/** Log lines of skipped deliveries: their reasons, in order. */
export function skipReasons(logLines: string[]): string[] {
  return logLines
    .map((line) => JSON.parse(line) as { msg?: string; reason?: string })
    .filter((l) => l.msg === 'github delivery skipped' || l.msg === 'github event not handled; skipped')
    .map((l) => l.reason ?? '');
}

export type CheckEventName = 'check_run' | 'check_suite' | 'status' | 'workflow_run';

const CHECK_FIXTURE_OF: Record<CheckEventName, string> = {
  check_run: 'check_run_completed',
  check_suite: 'check_suite_completed',
  status: 'status',
  workflow_run: 'workflow_run_completed',
};

/**
 * A trimmed real-shaped check delivery from tests/fixtures/github about commit `sha` on `branch`,
 * sent by a bot as GitHub's are (`github-actions[bot]`, a CI service's account for statuses).
 */
export function checkEvent(event: CheckEventName, at: { sha: string; branch: string; state?: string }): Json {
  const body = JSON.parse(readFileSync(join(FIXTURES, `${CHECK_FIXTURE_OF[event]}.json`), 'utf8')) as Json;
  switch (event) {
    case 'check_run': {
      const run = body.check_run as Json;
      const suite = { ...(run.check_suite as Json), head_sha: at.sha, after: at.sha, head_branch: at.branch };
      return { ...body, check_run: { ...run, head_sha: at.sha, check_suite: suite } };
    }
    case 'check_suite': {
      const suite = body.check_suite as Json;
      return { ...body, check_suite: { ...suite, head_sha: at.sha, after: at.sha, head_branch: at.branch } };
    }
    case 'workflow_run': {
      const run = body.workflow_run as Json;
      return { ...body, workflow_run: { ...run, head_sha: at.sha, head_branch: at.branch } };
    }
    case 'status': {
      const branches = [{ name: at.branch, commit: { sha: at.sha }, protected: false }];
      return {
        ...body,
        sha: at.sha,
        state: at.state ?? body.state,
        branches,
        commit: { ...(body.commit as Json), sha: at.sha },
      };
    }
  }
}

/** Log lines of the autofix: skips' reasons, in order. */
export function autofixSkips(logLines: string[]): string[] {
  return logLines
    .map((line) => JSON.parse(line) as { msg?: string; reason?: string })
    .filter((l) => l.msg === 'autofix skipped')
    .map((l) => l.reason ?? '');
}
