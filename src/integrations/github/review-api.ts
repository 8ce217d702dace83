import { z } from 'zod';
import { PatchbayError } from '../../domain/errors.js';
import type { Logger } from '../../lib/logger.js';
import { clientFor, type GitHubClients } from './create-octokit.js';
import { splitRepo, toGitHubError } from './github-error.js';
import { WebhookPull } from './review-events.js';

/** One inline comment of a review: where it points and what it says (untrusted). */
const ReviewComment = z.object({
  id: z.number().int(),
  path: z.string(),
  line: z.number().int().nullable().optional(),
  original_line: z.number().int().nullable().optional(),
  body: z.string().nullable(),
  user: z.object({ login: z.string() }).nullable(),
  diff_hunk: z.string().optional(),
});
export type ReviewComment = z.infer<typeof ReviewComment>;

const Permission = z.object({ permission: z.string(), role_name: z.string().optional() });

const BUILT_IN_ROLES: ReadonlySet<string> = new Set(['admin', 'maintain', 'write', 'triage', 'read', 'none']);

/** A review has at most this many inline comments read (GitHub pages them 100 at a time). */
const MAX_REVIEW_COMMENTS = 300;

/** The GitHub calls of the review loop; the clients come in, nothing is global. */
export function createReviewApi({ clients, log }: { clients: GitHubClients; log: Logger }) {
  async function call<T>(
    repo: string,
    action: string,
    run: (o: Awaited<ReturnType<typeof clientFor>>) => Promise<T>,
  ) {
    try {
      return await run(await clientFor(clients, repo));
    } catch (err) {
      throw toGitHubError(err, action);
    }
  }

  async function getPull(repo: string, number: number): Promise<WebhookPull> {
    const { data } = await call(repo, `read pull request #${number} of ${repo}`, (o) =>
      o.rest.pulls.get({ ...splitRepo(repo), pull_number: number }),
    );
    const parsed = WebhookPull.safeParse(data);
    if (parsed.success) return parsed.data;
    throw new PatchbayError(
      'github_error',
      `GitHub answered an unexpected shape for pull request #${number}`,
    );
  }

  /** `GET /repos/{o}/{r}/pulls/{n}/reviews/{id}/comments`, every page up to a limit. */
  async function reviewComments(repo: string, number: number, reviewId: number): Promise<ReviewComment[]> {
    const all: ReviewComment[] = [];
    for (let page = 1; all.length < MAX_REVIEW_COMMENTS; page++) {
      const { data } = await call(repo, `read the comments of review ${reviewId}`, (o) =>
        o.rest.pulls.listCommentsForReview({
          ...splitRepo(repo),
          pull_number: number,
          review_id: reviewId,
          per_page: 100,
          page,
        }),
      );
      const comments = z.array(ReviewComment).parse(data);
      all.push(...comments);
      if (comments.length < 100) break;
    }
    return all;
  }

  /**
   * The person's role on the repository: `admin`, `maintain`, `write`, `triage`, `read` or `none`. A
   * custom role (GitHub Enterprise) has its own `role_name`; it counts as the base role it extends,
   * which the legacy `permission` field shows (`admin`, `write`, `read`, `none`).
   */
  async function permission(repo: string, login: string): Promise<string> {
    const { data } = await call(repo, `read the permission of ${login} on ${repo}`, (o) =>
      o.rest.repos.getCollaboratorPermissionLevel({ ...splitRepo(repo), username: login }),
    );
    const parsed = Permission.parse(data);
    return parsed.role_name && BUILT_IN_ROLES.has(parsed.role_name) ? parsed.role_name : parsed.permission;
  }

  /** 👀 on the comment that asked; a comment that is already gone is not worth an error. */
  async function react(
    repo: string,
    target: { kind: 'issue_comment' | 'review_comment'; commentId: number },
    content: 'eyes',
  ): Promise<void> {
    const args = { ...splitRepo(repo), comment_id: target.commentId, content };
    await call(repo, `react to comment ${target.commentId}`, (o) =>
      target.kind === 'issue_comment'
        ? o.rest.reactions.createForIssueComment(args)
        : o.rest.reactions.createForPullRequestReviewComment(args),
    );
    log.debug({ repo, comment: target.commentId }, 'reacted to comment');
  }

  return { getPull, reviewComments, permission, react };
}
export type ReviewApi = ReturnType<typeof createReviewApi>;
