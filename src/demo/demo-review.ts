import { createHmac, randomUUID } from 'node:crypto';
import type { GitHubStandIn } from './github-stand-in.js';

type Out = { write(text: string): unknown };
const REVIEWER = 'reviewer';

/**
 * The review loop in the demo: a person with write access comments `@patchbay …` on the pull
 * request; the delivery is signed as GitHub signs it (`X-Hub-Signature-256`) and sent to the real
 * `POST /github/webhook`. Waits for Patchbay's reply on the pull request and returns it.
 */
export async function driveReview(opts: {
  server: string;
  secret: string;
  github: GitHubStandIn;
  repo: string;
  pullNumber: number;
  comment: string;
  out: Out;
}): Promise<string | null> {
  const { github, out } = opts;
  github.setPermission(REVIEWER, 'write');
  const repliesBefore = github.comments.length;
  const raw = JSON.stringify(issueComment(opts));
  out.write(`\n${REVIEWER} comments on pull request #${opts.pullNumber}: "${opts.comment}"\n`);
  const res = await fetch(`${opts.server}/github/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issue_comment',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', opts.secret).update(raw).digest('hex')}`,
    },
    body: raw,
  });
  out.write(`POST /github/webhook (issue_comment) → ${res.status}\n`);
  const until = Date.now() + 120_000;
  let acknowledged = false;
  while (Date.now() < until) {
    if (!acknowledged && github.reactions.some((r) => r.content === 'eyes')) {
      acknowledged = true;
      out.write('👀 on the comment\n');
    }
    const reply = github.comments.slice(repliesBefore).find((c) => c.issueNumber === opts.pullNumber);
    if (reply) return reply.body;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

/** The fields of GitHub's `issue_comment` `created` payload that Patchbay reads. */
function issueComment(opts: { repo: string; pullNumber: number; comment: string }) {
  const user = { login: REVIEWER, id: 1001, type: 'User' };
  const url = `https://github.com/${opts.repo}/pull/${opts.pullNumber}`;
  return {
    action: 'created',
    issue: { number: opts.pullNumber, html_url: url, pull_request: { html_url: url } },
    comment: { id: 4242, body: opts.comment, html_url: `${url}#issuecomment-4242`, user },
    repository: { full_name: opts.repo },
    sender: user,
  };
}
