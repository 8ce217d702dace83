import { notFound } from './github-stand-in-replies.js';
import type { HttpStandIn, RecordedCall, StandInHandler, StandInReply } from './http-stand-in.js';

/** A reaction the stand-in recorded: on an issue comment or on a pull request review comment. */
export interface StandInReaction {
  repo: string;
  kind: 'issue_comment' | 'review_comment';
  commentId: number;
  content: string;
  /** ms since the epoch */
  at: number;
}

/** One inline comment of a review, as `GET …/reviews/{id}/comments` answers it. */
export interface StandInReviewComment {
  id: number;
  path: string;
  line: number | null;
  body: string;
  user: { login: string; type?: string };
  diff_hunk?: string;
  in_reply_to_id?: number;
}

/**
 * The review-loop side of the GitHub stand-in: the authenticated identity (`GET /user`, `GET /app`),
 * collaborator permissions, reactions, and the comments of a review. Tests set permissions and a
 * review's comments; GitHub's own shapes otherwise.
 */
export function createReviewState(opts: { login: string; appSlug: string }) {
  const permissions = new Map<string, { role: string; base?: string }>();
  const reviewComments = new Map<string, StandInReviewComment[]>();
  const reactions: StandInReaction[] = [];
  const key = (repo: string, reviewId: number | string) => `${repo.toLowerCase()}#${reviewId}`;

  return {
    reactions,
    /**
     * `admin`, `maintain`, `write`, `triage`, `read` or `none` for `login` on every repository; a custom
     * role (GitHub Enterprise) names the base role it extends.
     */
    setPermission(login: string, role: string, base?: string) {
      permissions.set(login.toLowerCase(), { role, base });
    },
    setReviewComments(repo: string, reviewId: number, comments: StandInReviewComment[]) {
      reviewComments.set(key(repo, reviewId), comments);
    },
    register(
      http: HttpStandIn,
      guard: (h: StandInHandler) => StandInHandler,
      appGuard: ((h: StandInHandler) => StandInHandler) | undefined,
      hasPull: (c: RecordedCall) => boolean,
      /** Who a person's own token is (sign-in), before the token of Patchbay itself is checked. */
      userOf: (c: RecordedCall) => StandInReply | undefined = () => undefined,
    ) {
      const self = guard(() => ({ json: { login: opts.login, id: 1, type: 'User' } }));
      http.on('GET /user', (c) => userOf(c) ?? self(c));
      if (appGuard) {
        http.on(
          'GET /app',
          appGuard(() => ({
            json: { id: 1, slug: opts.appSlug, name: opts.appSlug, owner: { login: 'acme' } },
          })),
        );
      }
      http.on(
        'GET /repos/:owner/:repo/collaborators/:user/permission',
        guard((c) => {
          const { role, base } = permissions.get(c.params.user?.toLowerCase() ?? '') ?? { role: 'read' };
          // The legacy `permission` field folds maintain into write and triage into read, and shows a
          // custom role as the base role it extends.
          const permission = base ?? (role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role);
          return { json: { permission, role_name: role, user: { login: c.params.user } } };
        }),
      );
      const react =
        (kind: StandInReaction['kind']): StandInHandler =>
        (c) => {
          const content = (c.body as { content?: unknown } | undefined)?.content;
          if (typeof content !== 'string') return { status: 422, json: { message: 'Validation Failed' } };
          const repo = `${c.params.owner}/${c.params.repo}`;
          reactions.push({ repo, kind, commentId: Number(c.params.id), content, at: Date.now() });
          return { status: 201, json: { id: reactions.length, content, user: { login: opts.login } } };
        };
      http.on('POST /repos/:owner/:repo/issues/comments/:id/reactions', guard(react('issue_comment')));
      http.on('POST /repos/:owner/:repo/pulls/comments/:id/reactions', guard(react('review_comment')));
      http.on(
        'GET /repos/:owner/:repo/pulls/:number/reviews/:id/comments',
        guard((c) => {
          if (!hasPull(c)) return notFound();
          const all = reviewComments.get(key(`${c.params.owner}/${c.params.repo}`, c.params.id ?? '')) ?? [];
          const perPage = Number(c.query.get('per_page') ?? 30);
          const page = Number(c.query.get('page') ?? 1);
          return { json: all.slice((page - 1) * perPage, page * perPage) };
        }),
      );
    },
  };
}
export type ReviewState = ReturnType<typeof createReviewState>;
